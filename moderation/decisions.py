"""Turning a staff member's decision form into a status change, for comments and tips alike."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from core.db import db
from core.enums import Kind, Status
from core.models import AuditEvent, Submission
from core.transitions import SYSTEM, StaleVersion, TransitionError, change_status
from core.urls import local_path
from moderation.access import current_staff
from moderation.claims import release
from moderation.display import actor_label, status_label, when
from moderation.forms import DecisionForm
from moderation.review import get_submission, next_waiting

# Re-renders a submission's page with a conflict message and a status code.
Render = Callable[[Submission, str, int], ResponseReturnValue]

# After deciding one of these, the moderator is taken to the next one waiting in that status.
KEEP_GOING = {Kind.comment: frozenset({Status.pending, Status.reported}), Kind.tip: frozenset()}
UNDO_ENDPOINTS = {Kind.comment: "undo.undo_comment", Kind.tip: "undo.undo_tip"}


def wants_json() -> bool:
    """Whether a script (the queue's keyboard flow) asked for a JSON answer instead of a page."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def json_refusal(submission: Submission, message: str, code: int) -> ResponseReturnValue:
    """A refused change for a script: why, and the submission's current status and version."""
    body = {
        "error": message,
        "status": submission.status.value,
        "status_label": status_label(submission.status),
        "version": submission.version,
    }
    return jsonify(body), code


def json_changed(kind: Kind, submission: Submission, message: str) -> ResponseReturnValue:
    """A change made for a script: the new status and version, and how to undo it."""
    event_id = db.session.scalar(
        select(AuditEvent.id)
        .where(AuditEvent.submission_id == submission.id, AuditEvent.to_status.is_not(None))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    body = {
        "ok": True,
        "message": message,
        "status": submission.status.value,
        "status_label": status_label(submission.status),
        "version": submission.version,
        "undo_url": url_for(UNDO_ENDPOINTS[kind], submission_id=submission.id),
        "undo_event": event_id,
    }
    return jsonify(body)


def stale_message(stale: StaleVersion) -> str:
    """ "Already decided by <who> at <time>; it is now <status>" in the reader's language."""
    who = actor_label(stale.decided_by or SYSTEM)
    status = status_label(stale.status)
    if stale.decided_at is None:
        return _("Already decided by %(who)s; it is now %(status)s.", who=who, status=status)
    return _(
        "Already decided by %(who)s at %(time)s; it is now %(status)s.",
        who=who,
        time=when(stale.decided_at),
        status=status,
    )


def confirmation(kind: Kind, status: Status) -> str:
    """What the staff member is told after a decision."""
    if kind == Kind.tip:
        return _("Saved: the tip is now %(status)s.", status=status_label(status))
    return _("Saved: the comment is now %(status)s.", status=status_label(status))


def decide(
    kind: Kind, submission_id: int, render: Render, show_endpoint: str, queue_endpoint: str
) -> ResponseReturnValue:
    """Apply the posted decision to a submission of `kind`; 409 and its page on a conflict."""
    form = DecisionForm()
    if not form.validate_on_submit():
        if wants_json():
            return jsonify({"error": _("The decision could not be read; reload the page.")}), 400
        abort(400)
    submission = get_submission(db.session, kind, submission_id)
    if submission is None:
        abort(404)
    was = submission.status
    to = Status(form.to.data)
    try:
        change_status(
            db.session,
            submission,
            to,
            expected_version=form.version.data or 0,
            actor=current_staff(),
            reason=(form.reason.data or "").strip(),
        )
    except StaleVersion as stale:
        message = stale_message(stale)
    except TransitionError:
        message = _(
            "This cannot be moved from %(current)s to %(target)s.",
            current=status_label(was),
            target=status_label(to),
        )
    else:
        release(db.session, submission_id)  # decided: no one is reviewing it any more
        if wants_json():
            return json_changed(kind, submission, confirmation(kind, to))
        flash(confirmation(kind, to), "success")
        return _after(kind, submission_id, was, form, show_endpoint, queue_endpoint)
    current = _reload(kind, submission_id)
    if wants_json():
        return json_refusal(current, message, 409)
    return render(current, message, 409)


def _after(
    kind: Kind,
    submission_id: int,
    was: Status,
    form: DecisionForm,
    show_endpoint: str,
    queue_endpoint: str,
) -> ResponseReturnValue:
    # Where a plain form goes after a decision: back where it came from, or on to the next one.
    back = local_path(form.next.data)
    if back:
        return redirect(back, code=303)
    if was in KEEP_GOING[kind]:
        following = next_waiting(db.session, kind, was)
        if following is None:
            flash(_("Nothing else is waiting here."), "info")
            return redirect(url_for(queue_endpoint, status=was.value), code=303)
        return redirect(url_for(show_endpoint, submission_id=following.id), code=303)
    return redirect(url_for(show_endpoint, submission_id=submission_id), code=303)


def _reload(kind: Kind, submission_id: int) -> Submission:
    db.session.expire_all()  # show the state as it is now, not as this request first saw it
    submission = get_submission(db.session, kind, submission_id)
    if submission is None:
        abort(404)
    return submission
