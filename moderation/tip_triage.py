"""The triage desk's state of a tip: assignee, labels, star, keep, read marks and internal notes.

Plain functions over a session, so tests and tasks can call them without a request. Every change
an editor makes writes an audit row naming what changed, never what a note says: notes are
sealed to the tip key like the tip itself, and the audit log is read more widely than any tip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import limits, tipkeys
from core.db import READ_ONLY, execute_alone, utcnow
from core.enums import Kind, Status, TipMessageKind
from core.models import (
    Attachment,
    AuditEvent,
    StaffUser,
    Submission,
    TipDetails,
    TipLabel,
    TipMessage,
    TipRead,
)
from moderation.queue_filters import QueueFilters
from moderation.review import TABS, Cursor, list_submissions, queue_tab, wants_oldest_first

# The audit log's actions for the desk's changes (moderation.display names them).
ASSIGN, UNASSIGN = "tip_assign", "tip_unassign"
LABEL, UNLABEL = "tip_label", "tip_unlabel"
STAR, UNSTAR = "tip_star", "tip_unstar"
KEEP, UNKEEP = "tip_keep", "tip_unkeep"
NOTE = "tip_note"

# The filters' query-string names, in the order links spell them.
FILTER_ARGS = ("label", "assignee", "starred", "unread")
MINE, NOBODY = "mine", "nobody"
_YES = frozenset({"1", "on", "yes", "true"})
_NO = frozenset({"", "0", "off", "no", "false"})
# Labels suggested in the forms: the most used ones.
SUGGESTED_LABELS = 200
_QUOTE_MAX = 60


class TriageError(ValueError):
    """A desk change that cannot be made as asked; the message says why, for the editor."""


# --- the tip's triage row -------------------------------------------------------------------


def details_for(session: Session, submission: Submission) -> TipDetails:
    """The tip's triage row, created for a tip that has none (one older than the desk)."""
    details = session.get(TipDetails, submission.id)
    if details is None:
        details = TipDetails(submission_id=submission.id, last_activity_at=submission.created_at)
        session.add(details)
        session.flush()
    return details


def assignable_staff(session: Session) -> list[StaffUser]:
    """Who a tip can be assigned to: the active editors and admins."""
    return list(
        session.scalars(
            select(StaffUser)
            .where(StaffUser.is_active.is_(True), StaffUser.role.in_(tipkeys.READERS))
            .order_by(StaffUser.email)
        )
    )


def _audit(
    session: Session, submission_id: int, actor: StaffUser, action: str, reason: str
) -> None:
    session.add(
        AuditEvent(
            actor_id=actor.id,
            actor_label=actor.email,
            action=action,
            submission_id=submission_id,
            reason=reason[: limits.REASON_MAX],
        )
    )


def assign(
    session: Session, submission: Submission, actor: StaffUser, assignee_id: int | None
) -> bool:
    """Give the tip to an active editor or admin (None: to nobody); commits. Whether it changed."""
    assignee = None
    if assignee_id is not None:
        assignee = session.get(StaffUser, assignee_id)
        if assignee is None or not assignee.is_active or assignee.role not in tipkeys.READERS:
            raise TriageError(_l("A tip can only be given to an active editor or admin."))
    details = details_for(session, submission)
    if details.assignee_id == assignee_id:
        return False
    details.assignee_id = assignee_id
    if assignee is None:
        _audit(session, submission.id, actor, UNASSIGN, "")
    else:
        _audit(session, submission.id, actor, ASSIGN, assignee.email)
    session.commit()
    return True


def normalise_label(text: str) -> str:
    """A label as stored: trimmed, spaces collapsed, lower-case ("Needs  Law": "needs law")."""
    return " ".join(text.split()).lower()


def labels_of(session: Session, submission_id: int) -> list[str]:
    """A tip's labels, in alphabetical order."""
    return list(
        session.scalars(
            select(TipLabel.label)
            .where(TipLabel.submission_id == submission_id)
            .order_by(TipLabel.label)
        )
    )


def add_label(session: Session, submission: Submission, actor: StaffUser, text: str) -> bool:
    """Put a label on the tip; commits. Whether it was new (a label already there is kept)."""
    label = normalise_label(text)
    if not label:
        raise TriageError(_l("Write the label first."))
    if len(label) > limits.TIP_LABEL_MAX:
        raise TriageError(
            _l("A label can be at most %(max)d characters long.", max=limits.TIP_LABEL_MAX)
        )
    present = labels_of(session, submission.id)
    if label in present:
        return False
    if len(present) >= limits.TIP_LABELS_MAX:
        raise TriageError(
            _l(
                "A tip can have at most %(max)d labels: remove one first.",
                max=limits.TIP_LABELS_MAX,
            )
        )
    session.add(TipLabel(submission_id=submission.id, label=label))
    _audit(session, submission.id, actor, LABEL, label)
    try:
        session.commit()
    except IntegrityError:
        # Someone put the same label on at the same moment: it is there, as asked.
        session.rollback()
        return False
    return True


def remove_label(session: Session, submission: Submission, actor: StaffUser, text: str) -> bool:
    """Take a label off the tip; commits. Whether it was there."""
    label = normalise_label(text)
    row = session.get(TipLabel, (submission.id, label))
    if row is None:
        return False
    session.delete(row)
    _audit(session, submission.id, actor, UNLABEL, label)
    session.commit()
    return True


def set_starred(session: Session, submission: Submission, actor: StaffUser, on: bool) -> bool:
    """Star the tip or take its star off; commits. Whether it changed."""
    details = details_for(session, submission)
    if details.starred == on:
        return False
    details.starred = on
    _audit(session, submission.id, actor, STAR if on else UNSTAR, "")
    session.commit()
    return True


def set_keep(session: Session, submission: Submission, actor: StaffUser, on: bool) -> bool:
    """Mark the tip "keep" (retention leaves it alone) or unmark it; commits. Whether it changed."""
    details = details_for(session, submission)
    if details.keep == on:
        return False
    details.keep = on
    _audit(session, submission.id, actor, KEEP if on else UNKEEP, "")
    session.commit()
    return True


# --- read marks ------------------------------------------------------------------------------


def mark_read(
    session: Session, submission_id: int, staff: StaffUser, now: datetime | None = None
) -> None:
    """Record that `staff` has seen the tip as it is now; committed at once.

    One statement (INSERT ... ON CONFLICT DO UPDATE), so the same editor's two tabs opening
    the tip together never fail. Opening a tip is a GET, whose session only reads (core.db):
    there the statement runs in its own short transaction.
    """
    values = {"submission_id": submission_id, "staff_id": staff.id, "read_at": now or utcnow()}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(TipRead).values(values)
    upsert = statement.on_conflict_do_update(
        index_elements=[TipRead.submission_id, TipRead.staff_id],
        set_={"read_at": statement.excluded.read_at},
    ).returning(TipRead.staff_id)  # execute_alone reads its RETURNING rows
    if session.get_bind().get_execution_options().get(READ_ONLY):
        execute_alone(session, upsert)
        return
    session.execute(upsert)
    session.commit()


def mark_unread(session: Session, submission_id: int, staff: StaffUser) -> None:
    """Make the tip unread for `staff` again; commits."""
    row = session.get(TipRead, (submission_id, staff.id))
    if row is not None:
        session.delete(row)
        session.commit()


def is_unread(details: TipDetails | None, read: TipRead | None) -> bool:
    """Whether a tip is unread: never opened, or the source wrote again since."""
    if read is None or details is None:
        return True
    return read.read_at < details.last_activity_at


# --- internal notes --------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenedNote:
    """An internal note as an editor reads it; or why it cannot be opened."""

    author_label: str
    created_at: datetime
    text: str = ""
    problem: LazyString | None = None


def add_note(session: Session, submission: Submission, author: StaffUser, text: str) -> TipMessage:
    """Add an internal note, sealed to the tip key, with an audit row without its text; commits."""
    key = tipkeys.current_public_key(session)
    if key is None:
        raise TriageError(
            _l("There is no tip key to seal the note to yet: set one up (`tipline tips setup`).")
        )
    note = TipMessage(
        submission_id=submission.id,
        kind=TipMessageKind.note,
        author_id=author.id,
        author_label=author.email,
        tip_key_id=key.id,
        sealed=tipkeys.seal_to(key, {"text": text[: limits.TIP_MESSAGE_MAX]}),
    )
    session.add(note)
    _audit(session, submission.id, author, NOTE, "")
    session.commit()
    return note


def list_notes(
    session: Session, submission_id: int, keys: Mapping[int, bytes] | None
) -> list[OpenedNote]:
    """A tip's internal notes, oldest first, opened with the login's tip keys where they can be."""
    notes = session.scalars(
        select(TipMessage)
        .where(TipMessage.submission_id == submission_id, TipMessage.kind == TipMessageKind.note)
        .order_by(TipMessage.id)
    )
    opened = []
    for note in notes:
        if keys is None:
            opened.append(
                OpenedNote(note.author_label, note.created_at, problem=_l("Not unlocked."))
            )
            continue
        try:
            data = tipkeys.open_sealed(keys, note.tip_key_id, note.sealed)
        except ValueError:  # TipKeyError, or content that is not what a note seals
            opened.append(
                OpenedNote(
                    note.author_label,
                    note.created_at,
                    problem=_l("This note could not be opened with your tip keys."),
                )
            )
            continue
        opened.append(OpenedNote(note.author_label, note.created_at, str(data.get("text") or "")))
    return opened


# --- closing ---------------------------------------------------------------------------------


def sync_closed_at(session: Session, submission_id: int) -> None:
    """Make the tip's `closed_at` follow its status: set when it is closed, cleared if reopened.

    Retention counts a closed tip's days from it. Called after every status change of a tip
    (the decision form and its undo); it changes nothing when the two already agree. Commits.
    """
    row = session.execute(
        select(Submission.status, Submission.decided_at).where(Submission.id == submission_id)
    ).first()
    details = session.get(TipDetails, submission_id)
    if row is None or details is None:
        return
    status, decided_at = row
    if status == Status.closed and details.closed_at is None:
        details.closed_at = decided_at or utcnow()
    elif status not in (Status.closed, Status.purged) and details.closed_at is not None:
        details.closed_at = None
    else:
        return
    session.commit()


# --- the list --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TipFilters(QueueFilters):
    """Which tips the list shows on top of its tab: a label, an assignee, starred, unread.

    A QueueFilters (whose comment fields stay empty) so that the comment queue's keyset
    pagination (moderation.review.list_submissions) lists tips too, unchanged.
    """

    label: str = ""
    # "mine", "nobody", or a staff member's id (as text, as it is in links).
    assignee: str = ""
    starred: bool = False
    unread: bool = False
    # Whose "mine" and "unread": the logged-in editor. Not a filter of its own.
    staff_id: int = 0

    def args(self) -> dict[str, str]:
        """The filters as query-string arguments, the empty ones left out (for links)."""
        found = {
            "label": self.label,
            "assignee": self.assignee,
            "starred": "1" if self.starred else "",
            "unread": "1" if self.unread else "",
        }
        return {key: value for key, value in found.items() if value}

    def conditions(self, dialect: str) -> list[ColumnElement[bool]]:
        """The WHERE conditions of these filters on Submission (the same on every database)."""
        found: list[ColumnElement[bool]] = []
        if self.label:
            found.append(
                exists().where(
                    TipLabel.submission_id == Submission.id, TipLabel.label == self.label
                )
            )
        if self.assignee == NOBODY:
            found.append(
                ~exists().where(
                    TipDetails.submission_id == Submission.id, TipDetails.assignee_id.is_not(None)
                )
            )
        elif self.assignee:
            who = self.staff_id if self.assignee == MINE else int(self.assignee)
            found.append(
                exists().where(
                    TipDetails.submission_id == Submission.id, TipDetails.assignee_id == who
                )
            )
        if self.starred:
            found.append(
                exists().where(
                    TipDetails.submission_id == Submission.id, TipDetails.starred.is_(True)
                )
            )
        if self.unread:
            # Read: a read mark of theirs no older than the source's last activity.
            found.append(
                ~exists().where(
                    TipRead.submission_id == Submission.id,
                    TipRead.staff_id == self.staff_id,
                    TipDetails.submission_id == Submission.id,
                    TipDetails.last_activity_at <= TipRead.read_at,
                )
            )
        return found


@dataclass
class ParsedTipFilters:
    """The filters that could be used and a message for each value that could not."""

    filters: TipFilters
    errors: list[LazyString] = field(default_factory=list)


def parse_tip_filters(
    session: Session, args: Mapping[str, str], staff: StaffUser
) -> ParsedTipFilters:
    """The tip list's filters in the query `args`; unusable values are left out with a message."""
    errors: list[LazyString] = []

    raw_label = (args.get("label") or "").strip()
    label = normalise_label(raw_label[: limits.TIP_LABEL_MAX * 4])
    if raw_label and (
        not label or len(label) > limits.TIP_LABEL_MAX or not _label_used(session, label)
    ):
        errors.append(
            _l(
                "No tip has the label “%(value)s”; the label filter was ignored.",
                value=_quote(raw_label),
            )
        )
        label = ""

    assignee = (args.get("assignee") or "").strip()[:20]
    if assignee and assignee not in (MINE, NOBODY):
        ids = {str(user.id) for user in assignable_staff(session)}
        if assignee not in ids:
            errors.append(
                _l(
                    "Unknown assignee “%(value)s”; the assignee filter was ignored.",
                    value=_quote(assignee),
                )
            )
            assignee = ""

    starred = _yes_no(args, "starred", errors)
    unread = _yes_no(args, "unread", errors)

    filters = TipFilters(
        label=label,
        assignee=assignee,
        starred=starred,
        unread=unread,
        staff_id=staff.id,
    )
    return ParsedTipFilters(filters, errors)


def _yes_no(args: Mapping[str, str], name: str, errors: list[LazyString]) -> bool:
    value = (args.get(name) or "").strip()[:20]
    if value.lower() in _YES:
        return True
    if value.lower() not in _NO:
        if name == "starred":
            errors.append(
                _l(
                    "“%(value)s” is not yes (1) or no (0); the starred filter was ignored.",
                    value=_quote(value),
                )
            )
        else:
            errors.append(
                _l(
                    "“%(value)s” is not yes (1) or no (0); the unread filter was ignored.",
                    value=_quote(value),
                )
            )
    return False


def _label_used(session: Session, label: str) -> bool:
    return (
        session.scalar(select(TipLabel.label).where(TipLabel.label == label).limit(1)) is not None
    )


def known_labels(session: Session, limit: int = SUGGESTED_LABELS) -> list[str]:
    """The labels in use, most used first: suggested when labelling and filtering."""
    return list(
        session.scalars(
            select(TipLabel.label)
            .group_by(TipLabel.label)
            .order_by(func.count().desc(), TipLabel.label)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class TipRow:
    """One line of the tip list: the tip and its desk state for the editor looking."""

    submission: Submission
    starred: bool
    unread: bool
    assignee: str | None
    labels: list[str]
    files: int


def tip_rows(session: Session, submissions: Iterable[Submission], staff: StaffUser) -> list[TipRow]:
    """The desk state of a page of tips, in four queries whatever the page's length."""
    tips = list(submissions)
    ids = [tip.id for tip in tips]
    if not ids:
        return []
    details = {
        d.submission_id: d
        for d in session.scalars(select(TipDetails).where(TipDetails.submission_id.in_(ids)))
    }
    reads = {
        r.submission_id: r
        for r in session.scalars(
            select(TipRead).where(TipRead.submission_id.in_(ids), TipRead.staff_id == staff.id)
        )
    }
    labels: dict[int, list[str]] = {}
    for submission_id, label in session.execute(
        select(TipLabel.submission_id, TipLabel.label)
        .where(TipLabel.submission_id.in_(ids))
        .order_by(TipLabel.label)
    ):
        labels.setdefault(submission_id, []).append(label)
    files: dict[int, int] = {
        submission_id: count
        for submission_id, count in session.execute(
            select(Attachment.submission_id, func.count())
            .where(Attachment.submission_id.in_(ids))
            .group_by(Attachment.submission_id)
        )
    }
    assignee_ids = {d.assignee_id for d in details.values() if d.assignee_id is not None}
    emails: dict[int, str] = {}
    if assignee_ids:
        emails = {
            staff_id: email
            for staff_id, email in session.execute(
                select(StaffUser.id, StaffUser.email).where(StaffUser.id.in_(assignee_ids))
            )
        }
    rows = []
    for tip in tips:
        row = details.get(tip.id)
        rows.append(
            TipRow(
                submission=tip,
                starred=bool(row and row.starred),
                unread=is_unread(row, reads.get(tip.id)),
                assignee=emails.get(row.assignee_id) if row and row.assignee_id else None,
                labels=labels.get(tip.id, []),
                files=files.get(tip.id, 0),
            )
        )
    return rows


def _quote(value: str) -> str:
    return value if len(value) <= _QUOTE_MAX else value[: _QUOTE_MAX - 1] + "…"


def tip_list_view(session: Session, args: Mapping[str, str], staff: StaffUser) -> dict[str, Any]:
    """What the tip list shows for the query `args` (status, order, after, filters)."""
    status = queue_tab(Kind.tip, args.get("status"))
    order = args.get("order")
    oldest_first = wants_oldest_first(status, order)
    parsed = parse_tip_filters(session, args, staff)
    page = list_submissions(
        session,
        Kind.tip,
        status,
        after=Cursor.decode(args.get("after")),
        oldest_first=oldest_first,
        filters=parsed.filters,
    )
    return {
        "status": status,
        "tabs": TABS[Kind.tip],
        "page": page,
        "rows": tip_rows(session, page.submissions, staff),
        "filters": parsed.filters,
        # Links to other tabs, orders and pages carry the filters that were used.
        "filter_args": parsed.filters.args(),
        "filter_errors": parsed.errors,
        "known_labels": known_labels(session),
        "label_max": limits.TIP_LABEL_MAX,
        "assignable": assignable_staff(session),
        "oldest_first": oldest_first,
        "order": order if order in ("oldest", "newest") else None,
    }
