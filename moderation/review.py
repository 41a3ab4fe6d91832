"""The queues staff work through: which submissions, in what order, a page at a time.

Plain functions over a session, so tests and future tasks can call them without a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session, defer, joinedload, selectinload

from core import limits, tallies
from core.enums import Kind, Status
from core.models import AuditEvent, Submission
from moderation.queue_filters import (
    FIRED,
    ParsedFilters,
    QueueFilters,
    check_names,
    parse_filters,
    suggested_articles,
)

PER_PAGE = 50


class Everything(StrEnum):
    """The tab listing a kind's submissions in every status its other tabs show."""

    all = "all"


ALL = Everything.all
# A queue's tab: one status, or all of them.
Tab = Status | Everything

# The tabs of each queue, in the order they are shown. "All" never includes `received`: those
# are still being checked and no one should act on them yet.
TABS: dict[Kind, tuple[Tab, ...]] = {
    Kind.comment: (
        Status.pending,
        Status.reported,
        Status.spam,
        Status.published,
        Status.rejected,
        ALL,
    ),
    Kind.tip: (
        Status.new,
        Status.in_progress,
        Status.followed_up,
        Status.closed,
        Status.spam,
    ),
}
DEFAULT_TAB = {Kind.comment: Status.pending, Kind.tip: Status.new}
# Statuses that wait for a person are worked oldest first (fair to whoever sent first);
# the others are browsed newest first.
WAITING = frozenset({Status.pending, Status.reported, Status.new})

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the (created_at, id) of its last row."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        """The cursor as a URL-safe token."""
        micros = (self.created_at - _EPOCH) // timedelta(microseconds=1)
        return f"{micros}-{self.id}"

    @classmethod
    def decode(cls, token: str | None) -> Cursor | None:
        """The cursor in `token`, or None when it is missing or malformed (the first page)."""
        if not token:
            return None
        micros, _, ident = token.partition("-")
        try:
            # Integer arithmetic keeps the microseconds exact (a float would round them).
            return cls(_EPOCH + timedelta(microseconds=int(micros)), int(ident))
        except (ValueError, OverflowError):
            return None


@dataclass(frozen=True)
class Page:
    """One page of a queue and the cursor of the next one, if there is more."""

    submissions: list[Submission]
    next_cursor: Cursor | None


def oldest_first_by_default(status: Tab) -> bool:
    """Whether the tab of `status` lists the oldest submission first unless asked otherwise."""
    return status in WAITING


def tab_statuses(kind: Kind, tab: Tab) -> tuple[Status, ...]:
    """The statuses a tab of `kind` lists: its own, or for "All" those of every other tab."""
    if isinstance(tab, Status):
        return (tab,)
    return tuple(status for status in TABS[kind] if isinstance(status, Status))


def status_counts(session: Session, kind: Kind) -> dict[Tab, int]:
    """How many submissions of `kind` are in each of its tabs.

    From the database's running tallies (core.tallies), summed in one statement: every figure
    comes from the same snapshot, so the tabs add up to "All" and none can be negative, however
    many decisions are made meanwhile, and it costs the same with a million rows as with ten.
    """
    statuses = tab_statuses(kind, ALL)
    tallied = tallies.counts(session, kind)
    counts: dict[Tab, int] = dict.fromkeys(TABS[kind], 0)
    counts.update({status: tallied.get(status, 0) for status in statuses})
    if ALL in counts:
        counts[ALL] = sum(counts[status] for status in statuses)
    return counts


def list_submissions(
    session: Session,
    kind: Kind,
    status: Tab,
    *,
    after: Cursor | None = None,
    oldest_first: bool = True,
    per_page: int = PER_PAGE,
    filters: QueueFilters | None = None,
) -> Page:
    """A page of `kind` in `status`, ordered by (created_at, id), continuing after `after`.

    Keyset pagination: the next page starts from the last row's key, so a page deep in a long
    queue costs the same as the first, and rows decided meanwhile do not shift the pages.
    Filters only add conditions, so a cursor from a filtered page stays valid on the next.
    """
    query = _queue(kind, status).options(
        joinedload(Submission.article),
        selectinload(Submission.check_results),
        # A queue row never shows a tip's sealed content or the worker's copies: not loaded.
        defer(Submission.sealed),
        defer(Submission.check_copy),
        defer(Submission.sender_copy),
    )
    if filters is not None:
        query = query.where(*filters.conditions(session.get_bind().dialect.name))
    if oldest_first:
        query = query.order_by(Submission.created_at, Submission.id)
        if after is not None:
            query = query.where(
                # The first condition is implied by the second; it is there so that PostgreSQL
                # starts the index scan at the cursor instead of filtering every row before it.
                Submission.created_at >= after.created_at,
                or_(
                    Submission.created_at > after.created_at,
                    and_(Submission.created_at == after.created_at, Submission.id > after.id),
                ),
            )
    else:
        query = query.order_by(Submission.created_at.desc(), Submission.id.desc())
        if after is not None:
            query = query.where(
                Submission.created_at <= after.created_at,
                or_(
                    Submission.created_at < after.created_at,
                    and_(Submission.created_at == after.created_at, Submission.id < after.id),
                ),
            )
    rows = list(session.scalars(query.limit(per_page + 1)).unique())
    more = len(rows) > per_page
    rows = rows[:per_page]
    last = rows[-1] if more else None
    return Page(rows, Cursor(last.created_at, last.id) if last else None)


def next_waiting(session: Session, kind: Kind, status: Status) -> Submission | None:
    """The oldest submission of `kind` still in `status`: what a moderator should see next."""
    query = _queue(kind, status).order_by(Submission.created_at, Submission.id).limit(1)
    return session.scalars(query).first()


def get_submission(session: Session, kind: Kind, submission_id: int) -> Submission | None:
    """The submission with this id if it is of `kind`, with its article and check results."""
    # One round trip: the check results are joined too (a handful of rows per submission).
    return (
        session.scalars(
            select(Submission)
            .where(Submission.id == submission_id, Submission.kind == kind)
            .options(joinedload(Submission.article), joinedload(Submission.check_results))
        )
        .unique()
        .first()
    )


def audit_history(session: Session, submission_id: int) -> list[AuditEvent]:
    """Every audited change of one submission, oldest first."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.submission_id == submission_id)
            .order_by(AuditEvent.id)
        )
    )


def _queue(kind: Kind, tab: Tab) -> Select[Submission]:
    statuses = tab_statuses(kind, tab)
    return select(Submission).where(Submission.kind == kind, Submission.status.in_(statuses))


def queue_tab(kind: Kind, requested: str | None) -> Tab:
    """The tab asked for, or the kind's default tab for anything else."""
    tab: Tab
    try:
        tab = ALL if requested == ALL else Status(requested or "")
    except ValueError:
        return DEFAULT_TAB[kind]
    return tab if tab in TABS[kind] else DEFAULT_TAB[kind]


def wants_oldest_first(status: Tab, order: str | None) -> bool:
    """The order asked for ("oldest" or "newest"), else the tab's default."""
    if order in ("oldest", "newest"):
        return order == "oldest"
    return oldest_first_by_default(status)


def queue_view(session: Session, kind: Kind, args: Mapping[str, str]) -> dict[str, Any]:
    """What a queue page of `kind` shows for the query `args` (status, order, after, filters)."""
    status = queue_tab(kind, args.get("status"))
    order = args.get("order")
    oldest_first = wants_oldest_first(status, order)
    # Tips have no text or article to filter on: their queue takes no filters.
    parsed = parse_filters(session, args) if kind == Kind.comment else ParsedFilters(QueueFilters())
    return {
        "status": status,
        "tabs": TABS[kind],
        "page": list_submissions(
            session,
            kind,
            status,
            after=Cursor.decode(args.get("after")),
            oldest_first=oldest_first,
            filters=parsed.filters,
        ),
        "filters": parsed.filters,
        # Links to other pages, tabs and orders carry the filters that were used.
        "filter_args": parsed.filters.args(),
        "filter_errors": parsed.errors,
        "filter_article": parsed.article,
        "suggested_articles": suggested_articles(session) if kind == Kind.comment else [],
        "filter_check_names": check_names(),
        "filter_verdicts": FIRED,
        "search_max": limits.SEARCH_MAX,
        "oldest_first": oldest_first,
        "order": order if order in ("oldest", "newest") else None,
    }
