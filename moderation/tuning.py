"""Tuning the checks: the spam model in use and its history, false positives, per-check figures.

Every staff member may look (moderators are the ones whose decisions teach the model); nothing
here changes anything. Retraining runs on the worker's schedule or with `tipline checks retrain`:
the staff site never talks to the broker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, format_percent, format_timedelta, gettext
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, defer, selectinload

from core import limits
from core.app import current_settings
from core.db import db, utcnow
from core.enums import Kind, Status, Verdict
from core.models import AuditEvent, CheckResult, SpamModel, Submission
from moderation.review import PER_PAGE, Cursor

bp = Blueprint("tuning", __name__, url_prefix="/tuning")

# A check "fired" when it said anything but ok; moderators agreed when they kept the comment
# out (spam or rejected) and disagreed when they published it.
FIRED = (Verdict.suspect, Verdict.spam, Verdict.error)
AGREED = (Status.spam, Status.rejected)
DISAGREED = (Status.published,)
# Statuses the checks move a comment to that keep it from readers.
HELD = (Status.pending.value, Status.spam.value)
# The action of the audit rows the checks write (worker.checking).
CHECKS_ACTION = "checks"
PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
# Candidates listed on the model page, newest first.
HISTORY = 50


# --- The model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelView:
    """What the model page shows."""

    active: SpamModel | None
    # The shipped base model's row (written at the first retraining), when it is the one in use.
    base: SpamModel | None
    history: list[SpamModel]
    decisions: int


def model_view(session: Session) -> ModelView:
    """The active model, the base model's row, the latest candidates and the decisions so far."""
    rows = select(SpamModel).options(defer(SpamModel.weights))
    active = session.scalars(rows.where(SpamModel.active).order_by(SpamModel.id.desc())).first()
    base = None
    if active is None:
        base = session.scalars(
            rows.where(SpamModel.trained_on["kind"].as_string() == "base").order_by(
                SpamModel.id.desc()
            )
        ).first()
    history = list(session.scalars(rows.order_by(SpamModel.id.desc()).limit(HISTORY)))
    decisions = session.scalar(
        select(func.count())
        .select_from(Submission)
        .where(
            Submission.kind == Kind.comment,
            Submission.decided_by_id.is_not(None),
            Submission.status.in_((Status.published, Status.spam)),
        )
    )
    return ModelView(active, base, history, decisions or 0)


# --- False positives ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FalsePositive:
    """A comment people published although the checks had held or caught it, and which fired."""

    submission: Submission
    fired: list[CheckResult]


@dataclass(frozen=True)
class FalsePositivePage:
    """One page of false positives, newest decision first, and where the next one starts."""

    items: list[FalsePositive]
    next_cursor: Cursor | None


def false_positives(
    session: Session,
    *,
    check: str | None = None,
    after: Cursor | None = None,
    per_page: int = PER_PAGE,
) -> FalsePositivePage:
    """Comments a person published after the checks held them (pending) or caught them (spam).

    Only those where a check fired (`check` if given): a comment held because its article is
    pre-moderated, with every check ok, is not a false positive. Keyset pages on
    (decided_at, id), newest first.
    """
    held = (
        select(AuditEvent.id)
        .where(
            AuditEvent.submission_id == Submission.id,
            AuditEvent.action == CHECKS_ACTION,
            AuditEvent.to_status.in_(HELD),
        )
        .exists()
    )
    fired = select(CheckResult.id).where(
        CheckResult.submission_id == Submission.id, CheckResult.verdict.in_(FIRED)
    )
    if check:
        fired = fired.where(CheckResult.name == check)
    query = (
        select(Submission)
        .where(
            Submission.kind == Kind.comment,
            Submission.status == Status.published,
            Submission.decided_by_id.is_not(None),
            Submission.decided_at.is_not(None),
            held,
            fired.exists(),
        )
        .options(selectinload(Submission.check_results), selectinload(Submission.decided_by))
        .order_by(Submission.decided_at.desc(), Submission.id.desc())
    )
    if after is not None:
        query = query.where(
            or_(
                Submission.decided_at < after.created_at,
                and_(Submission.decided_at == after.created_at, Submission.id < after.id),
            )
        )
    rows = list(session.scalars(query.limit(per_page + 1)).unique())
    more = len(rows) > per_page
    rows = rows[:per_page]
    items = [FalsePositive(s, [r for r in s.check_results if r.verdict in FIRED]) for s in rows]
    last = rows[-1] if more else None
    cursor = Cursor(last.decided_at, last.id) if last and last.decided_at else None
    return FalsePositivePage(items, cursor)


# --- Per-check figures -------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckFigures:
    """How one check did on comments over a period."""

    name: str
    ran: int
    suspect: int
    spam: int
    error: int
    # Of the comments it fired on, those a person then kept out (agreed) or published.
    agreed: int
    disagreed: int

    @property
    def fired(self) -> int:
        """How often it said anything but ok."""
        return self.suspect + self.spam + self.error

    @property
    def decided(self) -> int:
        """How many of the comments it fired on a person has decided."""
        return self.agreed + self.disagreed

    @property
    def fired_share(self) -> float | None:
        """The share of comments it fired on."""
        return self.fired / self.ran if self.ran else None

    @property
    def agreement(self) -> float | None:
        """The share of decided comments it fired on that people kept out."""
        return self.agreed / self.decided if self.decided else None


def check_figures(session: Session, since: datetime) -> list[CheckFigures]:
    """Each check's figures on comments checked since `since`, by name."""
    fired = CheckResult.verdict.in_(FIRED)
    by_person = Submission.decided_by_id.is_not(None)
    rows = session.execute(
        select(
            CheckResult.name,
            func.count(),
            func.count().filter(CheckResult.verdict == Verdict.suspect),
            func.count().filter(CheckResult.verdict == Verdict.spam),
            func.count().filter(CheckResult.verdict == Verdict.error),
            func.count().filter(fired, by_person, Submission.status.in_(AGREED)),
            func.count().filter(fired, by_person, Submission.status.in_(DISAGREED)),
        )
        .join(Submission, Submission.id == CheckResult.submission_id)
        .where(Submission.kind == Kind.comment, CheckResult.created_at >= since)
        .group_by(CheckResult.name)
        .order_by(CheckResult.name)
    ).all()
    return [CheckFigures(*row) for row in rows]


@dataclass(frozen=True)
class Segment:
    """One part of a bar: where it starts, how wide it is, what it counts."""

    x: float
    width: float
    part: str
    count: int


@dataclass(frozen=True)
class Bar:
    """One check's row of the chart."""

    figures: CheckFigures
    y: float
    segments: list[Segment]
    end: float


@dataclass(frozen=True)
class Chart:
    """A horizontal stacked bar chart of how often each check fired, drawn as inline SVG."""

    bars: list[Bar]
    width: int
    height: int
    label_width: int
    bar_height: int
    colours: dict[str, str]


# The chart's geometry, in SVG user units (the drawing scales to the page's width).
CHART_WIDTH = 700
LABEL_WIDTH = 210
NUMBER_WIDTH = 70
ROW = 30
BAR = 18
# Presentation attributes, not CSS: the staff site's CSP forbids inline styles. The colours are
# the stylesheet's --ok, --bad and --line; each has at least 3:1 contrast with white.
COLOURS = {"agreed": "#0a6b2d", "disagreed": "#a4161a", "undecided": "#767676"}


def chart(figures: Sequence[CheckFigures]) -> Chart:
    """Bars as long as each check fired, split into agreed, disagreed and not yet decided."""
    longest = max((f.fired for f in figures), default=0) or 1
    span = CHART_WIDTH - LABEL_WIDTH - NUMBER_WIDTH
    bars = []
    for i, f in enumerate(figures):
        x = float(LABEL_WIDTH)
        segments = []
        for part, count in (
            ("agreed", f.agreed),
            ("disagreed", f.disagreed),
            ("undecided", f.fired - f.decided),
        ):
            width = span * count / longest
            if count:
                segments.append(Segment(round(x, 2), round(width, 2), part, count))
            x += width
        bars.append(Bar(f, i * ROW + (ROW - BAR) / 2, segments, round(x, 2)))
    return Chart(bars, CHART_WIDTH, max(1, len(figures)) * ROW, LABEL_WIDTH, BAR, dict(COLOURS))


def period(requested: str | None) -> int:
    """The period asked for in days, if it is one offered, else the default."""
    try:
        days = int(requested or "")
    except ValueError:
        return DEFAULT_PERIOD
    return days if days in PERIODS else DEFAULT_PERIOD


# --- Views -------------------------------------------------------------------------------------


@bp.context_processor
def formats() -> dict[str, Any]:
    """Number formats and the model's outcome, in the reader's language."""
    return {"ratio": _ratio, "percent": _percent, "outcome": outcome, "figure": figure}


def figure(model: SpamModel, which: str, name: str) -> float | None:
    """One evaluation figure of a model's row (see worker.learning.judge for `which`)."""
    value = (model.metrics or {}).get(which, {}).get(name)
    return float(value) if isinstance(value, int | float) else None


HAM = "ham_false_positive_rate"


def outcome(model: SpamModel) -> tuple[str, str]:
    """What became of a model (in use, promoted, kept out) and why, in the reader's language."""
    if model.trained_on.get("kind") == "base":
        return gettext("Base model"), gettext("Shipped with Tipline.")
    before = str(model.metrics.get("incumbent_version") or "—")
    f1, f1_before = figure(model, "candidate", "f1"), figure(model, "incumbent", "f1")
    held, held_before = figure(model, "candidate", HAM), figure(model, "incumbent", HAM)
    caught = figure(model, "candidate_caught", HAM)
    caught_before = figure(model, "incumbent_caught", HAM)
    if model.promoted:
        label = gettext("In use") if model.active else gettext("Promoted, since replaced")
        return label, gettext(
            "Not worse than %(version)s: F1 %(f1)s (was %(f1_before)s), legitimate comments "
            "held %(held)s (was %(held_before)s), caught as spam %(caught)s (was "
            "%(caught_before)s).",
            version=before,
            f1=_ratio(f1),
            f1_before=_ratio(f1_before),
            held=_percent(held),
            held_before=_percent(held_before),
            caught=_percent(caught),
            caught_before=_percent(caught_before),
        )
    if f1 is not None and f1_before is not None and f1 < f1_before:
        why = gettext(
            "Lower F1 than %(version)s: %(f1)s against %(f1_before)s.",
            version=before,
            f1=_ratio(f1),
            f1_before=_ratio(f1_before),
        )
    elif held is not None and held_before is not None and held > held_before:
        why = gettext(
            "Holds more legitimate comments than %(version)s: %(held)s against %(held_before)s.",
            version=before,
            held=_percent(held),
            held_before=_percent(held_before),
        )
    else:
        why = gettext(
            "Catches more legitimate comments as spam than %(version)s: %(caught)s against "
            "%(caught_before)s.",
            version=before,
            caught=_percent(caught),
            caught_before=_percent(caught_before),
        )
    return gettext("Not promoted"), why


def _ratio(value: float | None) -> str:
    return "—" if value is None else format_decimal(value, format="0.00")


def _percent(value: float | None) -> str:
    return "—" if value is None else format_percent(value, format="#,##0.#%")


@bp.get("/model")
def model() -> ResponseReturnValue:
    """The spam model in use, its figures, and the candidates retraining produced."""
    seconds = current_settings().retrain_interval_seconds
    return render_template(
        "tuning_model.html",
        view=model_view(db.session),
        every=format_timedelta(timedelta(seconds=seconds), threshold=1) if seconds else None,
        min_decisions=limits.RETRAIN_MIN_DECISIONS,
    )


@bp.get("/false-positives")
def false_positive_list() -> ResponseReturnValue:
    """Comments people published although the checks had held or caught them."""
    check = request.args.get("check") or None
    page = false_positives(db.session, check=check, after=Cursor.decode(request.args.get("after")))
    names = [name for name in current_settings().checks if ":" not in name]
    if check and check not in names:
        names.append(check)
    return render_template("tuning_false_positives.html", page=page, check=check, names=names)


@bp.get("/checks")
def checks() -> ResponseReturnValue:
    """How often each check fired over a period, and how often moderators agreed."""
    days = period(request.args.get("days"))
    figures = check_figures(db.session, utcnow() - timedelta(days=days))
    return render_template(
        "tuning_checks.html",
        figures=figures,
        chart=chart(figures),
        days=days,
        periods=PERIODS,
    )
