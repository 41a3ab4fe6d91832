"""Undoing a decision: a moderator their own for ten minutes, an admin anyone's at any time.

An undo is an ordinary status change (optimistic lock, audit row with action "undo"), so undoing
an undo is just another undo.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, jsonify, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from core import limits
from core.db import db, utcnow
from core.enums import Kind, Role, Status
from core.models import AuditEvent, StaffUser, Submission
from core.transitions import ALLOWED, STAFF, StaleVersion, TransitionError, change_status
from moderation.access import current_staff, ensure_role
from moderation.decisions import Render, json_refusal, stale_message, wants_json
from moderation.display import status_label
from moderation.review import get_submission
from moderation.submissions import render_submission
from moderation.tips import render_tip

bp = Blueprint("undo", __name__)

# How long a moderator (or editor) may take back their own decision; admins have no limit.
UNDO_WINDOW = timedelta(minutes=10)

# Where an undo puts a submission when staff cannot move it back where it was: "received" is the
# checks' inbox and "reported" a readers' flag, so it goes to the queue a person works instead.
WAITING = {Kind.comment: Status.pending, Kind.tip: Status.new}


@dataclass(frozen=True)
class Undo:
    """A decision `staff` may take back: which audit row, back to what, until when."""

    event_id: int
    frm: Status
    to: Status
    version: int
    by_system: bool
    deadline: datetime | None  # None: no limit (an admin)

    def minutes_left(self, now: datetime) -> int | None:
        """Whole minutes left to undo (rounded up), or None when there is no limit."""
        if self.deadline is None:
            return None
        return max(1, math.ceil((self.deadline - now) / timedelta(minutes=1)))


def last_change(session: Session, submission_id: int) -> AuditEvent | None:
    """The newest audited status change of a submission."""
    return session.scalars(
        select(AuditEvent)
        .where(AuditEvent.submission_id == submission_id, AuditEvent.to_status.is_not(None))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()


def undo_target(kind: Kind, current: Status, previous: Status) -> Status | None:
    """Where undoing the move `previous` -> `current` puts a submission, if staff may move it."""
    allowed = ALLOWED[kind]
    for to in (previous, WAITING[kind]):
        if to != current and allowed.get((current, to)) == STAFF:
            return to
    return None


def undoable(
    session: Session,
    submission: Submission,
    staff: StaffUser,
    now: datetime,
    history: Sequence[AuditEvent] | None = None,
) -> Undo | None:
    """The last decision on `submission` if `staff` may undo it now, else None.

    `history`, the submission's audit rows oldest first when the caller has them already,
    saves reading the last change again.
    """
    if history is None:
        event = last_change(session, submission.id)
    else:
        event = next((e for e in reversed(history) if e.to_status is not None), None)
    if event is None or event.to_status != submission.status.value or event.from_status is None:
        return None
    by_system = event.actor_id is None
    admin = staff.has_role(Role.admin)
    own = not by_system and event.actor_id == staff.id
    deadline = None if admin else event.at + UNDO_WINDOW
    # The checks' decisions are not anyone's own: only an admin may take them back.
    if not admin and (not own or deadline is None or now > deadline):
        return None
    to = undo_target(submission.kind, submission.status, Status(event.from_status))
    if to is None:
        return None
    return Undo(event.id, submission.status, to, submission.version, by_system, deadline)


def undo(
    session: Session,
    submission: Submission,
    staff: StaffUser,
    *,
    expected_version: int,
    event_id: int,
    reason: str = "",
    now: datetime | None = None,
) -> Status | None:
    """Undo the decision `event_id` for `staff`: the new status, or None if not theirs to undo.

    Raises StaleVersion when the submission changed since `expected_version` (someone decided
    meanwhile): the undo would otherwise take back their decision instead.
    """
    if submission.version != expected_version:
        raise _stale(session, submission)
    offer = undoable(session, submission, staff, now or utcnow())
    if offer is None or offer.event_id != event_id:
        return None
    note = f"undo of #{event_id}" + (f": {reason}" if reason else "")
    change_status(
        session,
        submission,
        offer.to,
        expected_version=expected_version,
        actor=staff,
        reason=note,
        action="undo",
    )
    return offer.to


def _stale(session: Session, submission: Submission) -> StaleVersion:
    last = last_change(session, submission.id)
    return StaleVersion(
        status=submission.status,
        version=submission.version,
        decided_by=last.actor_label if last else None,
        decided_at=last.at if last else None,
    )


class UndoForm(FlaskForm):
    """Take back a decision: which one, on which version the staff member saw."""

    event = IntegerField(validators=[InputRequired()])
    version = IntegerField(validators=[InputRequired()])
    reason = TextAreaField(validators=[Optional(), Length(max=limits.REASON_MAX)])


def undone_message(kind: Kind, status: Status) -> str:
    """What the staff member is told after an undo."""
    if kind == Kind.tip:
        return _("Undone: the tip is back to %(status)s.", status=status_label(status))
    return _("Undone: the comment is back to %(status)s.", status=status_label(status))


def _undo(
    kind: Kind, submission_id: int, render: Render, show_endpoint: str
) -> ResponseReturnValue:
    form = UndoForm()
    if not form.validate_on_submit():
        if wants_json():
            return jsonify({"error": _("The undo could not be read; reload the page.")}), 400
        abort(400)
    submission = get_submission(db.session, kind, submission_id)
    if submission is None:
        abort(404)
    refuse = json_refusal if wants_json() else render
    try:
        to = undo(
            db.session,
            submission,
            current_staff(),
            expected_version=form.version.data or 0,
            event_id=form.event.data or 0,
            reason=(form.reason.data or "").strip(),
        )
    except StaleVersion as stale:
        return refuse(_reload(kind, submission_id), stale_message(stale), 409)
    except TransitionError:  # the offer was checked against ALLOWED; only a race lands here
        return refuse(
            _reload(kind, submission_id), _("This decision can no longer be undone."), 409
        )
    if to is None:
        message = _(
            "You can only undo your own decisions, within %(minutes)d minutes.",
            minutes=UNDO_WINDOW // timedelta(minutes=1),
        )
        return refuse(_reload(kind, submission_id), message, 403)
    if wants_json():
        body = {
            "ok": True,
            "message": undone_message(kind, to),
            "status": to.value,
            "status_label": status_label(to),
            "version": submission.version,
        }
        return jsonify(body)
    flash(undone_message(kind, to), "success")
    return redirect(url_for(show_endpoint, submission_id=submission_id), code=303)


def _reload(kind: Kind, submission_id: int) -> Submission:
    db.session.expire_all()  # show the state as it is now, not as this request first saw it
    submission = get_submission(db.session, kind, submission_id)
    if submission is None:
        abort(404)
    return submission


@bp.post("/submissions/<int:submission_id>/undo")
def undo_comment(submission_id: int) -> ResponseReturnValue:
    """Take back the last decision on a comment."""
    return _undo(Kind.comment, submission_id, render_submission, "submissions.show")


@bp.post("/tips/<int:submission_id>/undo")
def undo_tip(submission_id: int) -> ResponseReturnValue:
    """Take back the last decision on a tip (editors and admins, like every tip route)."""
    ensure_role(Role.editor)
    return _undo(Kind.tip, submission_id, render_tip, "tips.show")


def undo_offer(
    submission: Submission, history: Sequence[AuditEvent] | None = None
) -> tuple[Undo, int | None] | None:
    """For the item page: the decision the logged-in staff member may undo, and minutes left."""
    now = utcnow()
    offer = undoable(db.session, submission, current_staff(), now, history)
    return (offer, offer.minutes_left(now)) if offer else None


def minutes_left_text(minutes: int) -> str:
    """ "You can undo for 7 more minutes", in the reader's language."""
    return ngettext(
        "You can undo this for %(num)d more minute.",
        "You can undo this for %(num)d more minutes.",
        minutes,
    )


@bp.app_context_processor
def undo_helpers() -> dict[str, object]:
    """The item pages' undo button asks these."""
    return {"undo_offer": undo_offer, "undo_minutes_left": minutes_left_text}
