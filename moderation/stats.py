"""Workload figures with charts: backlog, time to decision, decisions per moderator, spam caught.

Every staff member may look, moderators included: the team's workload is the team's business,
and nothing here changes anything. All figures come from the audit log of one period (the index
ix_audit_events_at bounds the cost), counted by the database, except the times to decision,
which are a capped sample computed in Python so that the same code runs on SQLite and
PostgreSQL. Buckets are UTC hours (last 24 hours) or UTC days.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from babel.dates import format_skeleton
from babel.units import format_unit
from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, format_percent, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, case, func, literal_column, select
from sqlalchemy.orm import Session, aliased

from core.db import db, utcnow
from core.decision_events import (
    CAUGHT_FROM,
    CHECKS_ACTION,
    DECIDED,
    comment_events,
    decision,
    duration_unit,
    false_positive_events,
)
from core.enums import Kind, Role, Status
from core.models import AuditEvent, Submission
from core.transitions import SYSTEM
from moderation import charts
from moderation.access import ensure_role

bp = Blueprint("stats", __name__)

# A comment waits for a person while it is pending (held) or reported (flagged by readers).
WAITING = (Status.pending.value, Status.reported.value)
# At most this many decisions (the most recent) go into the times to decision.
SAMPLE_CAP = 50_000


@dataclass(frozen=True)
class Period:
    """A period the page offers: how many buckets of which size, ending now."""

    key: str
    label: Any  # a lazy string
    buckets: int
    unit: str  # "hour" or "day"

    @property
    def step(self) -> timedelta:
        """The length of one bucket."""
        return timedelta(hours=1) if self.unit == "hour" else timedelta(days=1)


PERIODS = {
    p.key: p
    for p in (
        Period("24h", _l("Last 24 hours"), 24, "hour"),
        Period("7d", _l("Last 7 days"), 7, "day"),
        Period("30d", _l("Last 30 days"), 30, "day"),
    )
}
DEFAULT_PERIOD = "7d"


def period(requested: str | None) -> Period:
    """The period asked for if it is one offered, else the default."""
    return PERIODS.get(requested or "", PERIODS[DEFAULT_PERIOD])


@dataclass(frozen=True)
class Window:
    """The buckets of a period: UTC hours or days, the last one the one that holds `now`."""

    period: Period
    starts: list[datetime]
    now: datetime

    @classmethod
    def ending(cls, chosen: Period, now: datetime) -> Window:
        """The period's buckets up to and including the current one."""
        last = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        if chosen.unit == "day":
            last = last.replace(hour=0)
        first = last - chosen.step * (chosen.buckets - 1)
        return cls(chosen, [first + chosen.step * i for i in range(chosen.buckets)], now)

    @property
    def start(self) -> datetime:
        """When the first bucket starts."""
        return self.starts[0]

    def index(self, moment: datetime) -> int:
        """The bucket `moment` falls in (clamped to the period)."""
        i = math.floor((moment - self.start) / self.period.step)
        return min(max(i, 0), len(self.starts) - 1)


@dataclass(frozen=True)
class Times:
    """Times to decision in seconds: how many, the median and the 90th percentile."""

    count: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Times:
        """The figures of a sample of durations."""
        ordered = sorted(seconds)
        return cls(len(ordered), percentile(ordered, 0.5), percentile(ordered, 0.9))


@dataclass(frozen=True)
class ModeratorLoad:
    """One person's decisions in the period and the UTC clock hours they were made in."""

    label: str
    decisions: int
    active_hours: int

    @property
    def per_hour(self) -> float:
        """Decisions per hour in which they made at least one."""
        return self.decisions / self.active_hours if self.active_hours else 0.0


@dataclass(frozen=True)
class Stats:
    """The figures of one period, bucket by bucket where a chart shows them over time."""

    window: Window
    waiting_now: int
    backlog: list[int]
    times: list[Times]
    overall: Times
    capped: bool
    moderators: list[ModeratorLoad]
    spam_auto: list[int]
    spam_by_hand: list[int]
    false_positives: list[int]
    false_positive_total: int

    @property
    def decisions(self) -> int:
        """All decisions people made in the period."""
        return sum(m.decisions for m in self.moderators)

    @property
    def false_positive_rate(self) -> float | None:
        """False positives as a share of the comments the checks marked spam in the period."""
        caught = sum(self.spam_auto)
        return self.false_positive_total / caught if caught else None


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The `q` quantile of sorted values, interpolated as PostgreSQL's percentile_cont does."""
    if not ordered:
        return None
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- Queries -----------------------------------------------------------------------------------


def _truncated(session: Session, column: Any, unit: str) -> ColumnElement[Any]:
    # The UTC hour or day a timestamp falls in, grouped on by the database. PostgreSQL truncates
    # in the session's time zone unless told otherwise; SQLite stores UTC text.
    # The constants are literals, not parameters, so that the GROUP BY repeats the SELECT's
    # expression exactly (PostgreSQL compares them).
    if session.get_bind().dialect.name == "postgresql":
        utc = func.timezone(literal_column("'UTC'"), column)
        return func.date_trunc(literal_column(f"'{unit}'"), utc)
    pattern = "%Y-%m-%d %H:00:00" if unit == "hour" else "%Y-%m-%d 00:00:00"
    return func.strftime(literal_column(f"'{pattern}'"), column)


def _as_utc(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _per_bucket(session: Session, window: Window, query: Any, bucket: Any) -> list[list[int]]:
    # Rows of (bucket, count, count, ...) into one list per count, bucket by bucket.
    rows = session.execute(query.group_by(bucket)).all()
    width = len(rows[0]) - 1 if rows else 0
    found = [[0] * len(window.starts) for _ in range(width)]
    for key, *counts in rows:
        i = window.index(_as_utc(key))
        for j, count in enumerate(counts):
            found[j][i] += int(count or 0)
    return found


def backlog(session: Session, window: Window) -> tuple[int, list[int]]:
    """Comments waiting now, and at the end of each bucket.

    Counted back from now: the current count, less what entered the waiting statuses after each
    bucket, plus what left them. Only pending and reported comments wait, and tips never take
    those statuses, so the audit rows need no join.
    """
    waiting_now = (
        session.scalar(
            select(func.count())
            .select_from(Submission)
            .where(Submission.kind == Kind.comment, Submission.status.in_(WAITING))
        )
        or 0
    )
    bucket = _truncated(session, AuditEvent.at, window.period.unit)
    entered = func.sum(case((AuditEvent.to_status.in_(WAITING), 1), else_=0))
    left = func.sum(case((AuditEvent.from_status.in_(WAITING), 1), else_=0))
    query = select(bucket, entered - left).where(
        AuditEvent.at >= window.start, AuditEvent.to_status.is_not(None)
    )
    (change,) = _per_bucket(session, window, query, bucket) or [[0] * len(window.starts)]
    ends, level = [], waiting_now
    for delta in reversed(change):
        ends.append(level)
        level -= delta
    return waiting_now, list(reversed(ends))


def decision_times(session: Session, window: Window) -> tuple[list[Times], Times, bool]:
    """Times from arrival to a person's first decision, per bucket and overall; capped or not.

    Only comments the checks held (the first decision was made on a pending comment): a
    comment published at once and reported days later did not wait all that time in a queue.
    """
    earlier = aliased(AuditEvent)
    first = ~(
        select(earlier.id)
        .where(
            earlier.submission_id == AuditEvent.submission_id,
            earlier.id < AuditEvent.id,
            earlier.actor_label != SYSTEM,
            earlier.to_status.in_(DECIDED),
        )
        .exists()
    )
    query = (
        comment_events(window.start, AuditEvent.at, Submission.created_at)
        .where(decision(), AuditEvent.from_status == Status.pending.value, first)
        .order_by(AuditEvent.at.desc())
        .limit(SAMPLE_CAP + 1)
    )
    rows = session.execute(query).all()
    capped = len(rows) > SAMPLE_CAP
    per_bucket: list[list[float]] = [[] for _ in window.starts]
    every = []
    for at, created in rows[:SAMPLE_CAP]:
        seconds = max(0.0, (at - created).total_seconds())
        per_bucket[window.index(at)].append(seconds)
        every.append(seconds)
    return [Times.of(b) for b in per_bucket], Times.of(every), capped


def moderator_loads(session: Session, window: Window) -> list[ModeratorLoad]:
    """Each person's decisions on comments and active hours, busiest first."""
    hour = _truncated(session, AuditEvent.at, "hour")
    query = (
        comment_events(
            window.start, AuditEvent.actor_label, func.count(), func.count(func.distinct(hour))
        )
        .where(decision())
        .group_by(AuditEvent.actor_label)
    )
    loads = [ModeratorLoad(label, n, hours) for label, n, hours in session.execute(query)]
    return sorted(loads, key=lambda m: (-m.decisions, m.label))


def spam_caught(session: Session, window: Window) -> tuple[list[int], list[int]]:
    """Comments marked spam by the checks, and by a person, per bucket."""
    bucket = _truncated(session, AuditEvent.at, window.period.unit)
    query = comment_events(
        window.start,
        bucket,
        func.count().filter(AuditEvent.action == CHECKS_ACTION),
        func.count().filter(decision(), AuditEvent.from_status.in_(CAUGHT_FROM)),
    ).where(AuditEvent.to_status == Status.spam.value)
    found = _per_bucket(session, window, query, bucket)
    empty = [0] * len(window.starts)
    return (found[0], found[1]) if found else (empty, list(empty))


def false_positives(session: Session, window: Window) -> tuple[list[int], int]:
    """Comments marked spam by the checks and then published by a person, per bucket and all."""
    bucket = _truncated(session, AuditEvent.at, window.period.unit)
    distinct = func.count(func.distinct(AuditEvent.submission_id))
    found = _per_bucket(
        session, window, false_positive_events(window.start, bucket, distinct), bucket
    )
    total = session.scalar(false_positive_events(window.start, distinct)) or 0
    return (found[0] if found else [0] * len(window.starts)), total


def stats(session: Session, chosen: Period, now: datetime | None = None) -> Stats:
    """All the figures of `chosen`, the period ending `now`."""
    window = Window.ending(chosen, now or utcnow())
    waiting_now, ends = backlog(session, window)
    times, overall, capped = decision_times(session, window)
    auto, by_hand = spam_caught(session, window)
    fp, fp_total = false_positives(session, window)
    return Stats(
        window=window,
        waiting_now=waiting_now,
        backlog=ends,
        times=times,
        overall=overall,
        capped=capped,
        moderators=moderator_loads(session, window),
        spam_auto=auto,
        spam_by_hand=by_hand,
        false_positives=fp,
        false_positive_total=fp_total,
    )


# --- Presentation ------------------------------------------------------------------------------


def number(value: float) -> str:
    """A count or a figure in the reader's number format."""
    return format_decimal(value, format="#,##0.#")


def percent(value: float | None) -> str:
    """A share in the reader's format, or a dash when there is nothing to share."""
    return "—" if value is None else format_percent(value, format="#,##0.#%")


def duration(seconds: float | None, unit: tuple[str, float] | None = None) -> str:
    """A duration in the reader's language ("1.5 hr", "1,5 h"), or a dash when there is none."""
    if seconds is None:
        return "—"
    name, size = unit or duration_unit(seconds)
    return format_unit(
        round(seconds / size, 1), f"duration-{name}", length="short", locale=get_locale()
    )


def bucket_label(moment: datetime, unit: str) -> str:
    """A bucket's start as its label: the hour ("14:00") or the day ("29 Nov")."""
    skeleton = "Hm" if unit == "hour" else "MMMd"
    return format_skeleton(skeleton, moment, tzinfo=UTC, locale=get_locale())


@dataclass(frozen=True)
class Charts:
    """The page's charts."""

    backlog: charts.Plot
    times: charts.Plot
    moderators: charts.Plot
    spam: charts.Plot
    false_positives: charts.Plot


def draw(figures: Stats, labels: Sequence[str]) -> Charts:
    """The charts of `figures`, with `labels` under the buckets."""
    highest = max((t.p90 or 0 for t in figures.times), default=0)
    unit = duration_unit(highest)
    return Charts(
        backlog=charts.lines(
            labels,
            [charts.Series("waiting", _("Comments waiting"), charts.TEAL)],
            [[float(n) for n in figures.backlog]],
            number,
        ),
        times=charts.lines(
            labels,
            [
                charts.Series("median", _("Median"), charts.BLUE),
                charts.Series("p90", _("90th percentile"), charts.ORANGE, dash="6 4"),
            ],
            [
                [t.median / unit[1] if t.median is not None else None for t in figures.times],
                [t.p90 / unit[1] if t.p90 is not None else None for t in figures.times],
            ],
            lambda value: duration(value * unit[1], unit),
            whole=False,
        ),
        moderators=charts.bars(
            [m.label for m in figures.moderators],
            [m.per_hour for m in figures.moderators],
            charts.Series("per_hour", _("Decisions per hour"), charts.BLUE),
            lambda value: format_decimal(value, format="#,##0.0"),
        ),
        spam=charts.columns(
            labels,
            [
                charts.Series("auto", _("By the checks"), charts.BLUE),
                charts.Series("hand", _("By hand"), charts.ORANGE),
            ],
            [[float(n) for n in figures.spam_auto], [float(n) for n in figures.spam_by_hand]],
            number,
        ),
        false_positives=charts.columns(
            labels,
            [charts.Series("fp", _("False positives"), charts.PINK)],
            [[float(n) for n in figures.false_positives]],
            number,
        ),
    )


@bp.context_processor
def formats() -> dict[str, Any]:
    """Number, share and duration formats in the reader's language."""
    return {"number": number, "percent": percent, "duration": duration}


@bp.get("/stats")
def index() -> ResponseReturnValue:
    """The workload figures of a period (last 24 hours, 7 days or 30 days) with their charts."""
    ensure_role(Role.moderator)
    chosen = period(request.args.get("period"))
    figures = stats(db.session, chosen)
    labels = [bucket_label(start, chosen.unit) for start in figures.window.starts]
    return render_template(
        "stats.html",
        figures=figures,
        labels=labels,
        charts=draw(figures, labels),
        chosen=chosen,
        periods=PERIODS.values(),
        sample_cap=SAMPLE_CAP,
    )
