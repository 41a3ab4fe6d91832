"""Tips, for editors and admins only: the triage desk's list, and a tip opened with their keys.

The desk's state (assignee, labels, star, keep, read marks, notes) lives in
moderation.tip_triage; these views parse a form, call it, and redirect back to the tip.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from core import limits, tipkeys
from core.db import db
from core.enums import Kind, Role
from core.models import Submission, TipDetails
from core.transitions import allowed_targets
from moderation import tip_triage
from moderation.access import current_staff, ensure_role
from moderation.decisions import decide
from moderation.forms import DecisionForm
from moderation.review import audit_history, get_submission
from moderation.tip_access import current_tip_keys
from moderation.tip_forms import AssigneeForm, LabelForm, PlainForm, SwitchForm, TipNoteForm
from moderation.tip_triage import TriageError

bp = Blueprint("tips", __name__, url_prefix="/tips")

# The requests that change a tip's status: the decision form here and its undo (moderation.undo).
STATUS_ENDPOINTS = frozenset({"tips.change", "undo.undo_tip"})


@bp.before_request
def editors_only() -> None:
    """Every tip route, present and future, is closed to moderators."""
    ensure_role(Role.editor)


@dataclass(frozen=True)
class TipContent:
    """What a tipster sent, opened for display; or why it cannot be shown."""

    text: str = ""
    contact: str = ""
    name: str = ""
    problem: str | None = None


def no_key_message() -> str:
    """What an editor whose login holds no tip key is told, wherever a tip cannot be opened."""
    return _(
        "Your login has not unlocked the tip key: log out and in again, or ask an editor who "
        "holds it to grant you access (`tipline tips grant`)."
    )


def open_tip(
    session: Session, submission: Submission, keys: Mapping[int, bytes] | None
) -> TipContent:
    """The tip's text, contact and name, opened with the tip keys the login unlocked."""
    if submission.sealed is None:
        return TipContent(problem=_("This tip's content has been deleted."))
    if not keys:
        return TipContent(problem=no_key_message())
    details = session.get(TipDetails, submission.id)
    try:
        data = tipkeys.open_sealed(keys, details.tip_key_id if details else None, submission.sealed)
    except ValueError:  # TipKeyError, or a blob that is not what a tip seals
        return TipContent(
            problem=_(
                "This tip could not be opened with the tip keys your login unlocked. If the "
                "key was rotated since you logged in, log out and in again."
            )
        )
    return TipContent(
        text=str(data.get("text") or ""),
        contact=str(data.get("contact") or ""),
        name=str(data.get("name") or ""),
    )


@bp.get("")
def index() -> ResponseReturnValue:
    """Tips in one status, filtered by label, assignee, star and read marks, a page at a time."""
    view = tip_triage.tip_list_view(db.session, request.args, current_staff())
    return render_template("tips.html", **view)


@bp.get("/<int:submission_id>")
def show(submission_id: int) -> ResponseReturnValue:
    """One tip, opened, with its checks, desk controls and history; it is now read."""
    submission = _tip(submission_id)
    tip_triage.mark_read(db.session, submission.id, current_staff())
    return render_tip(submission)


@bp.post("/<int:submission_id>/status")
def change(submission_id: int) -> ResponseReturnValue:
    """Move a tip along its triage: in progress, followed up, closed, spam."""
    return decide(Kind.tip, submission_id, render_tip, ".show", ".index")


@bp.after_app_request
def closed_at_follows_status(response: Response) -> Response:
    """After a tip's status changed (decided or undone), set or clear when it was closed."""
    if request.endpoint in STATUS_ENDPOINTS and response.status_code < 400:
        submission_id = (request.view_args or {}).get("submission_id")
        if isinstance(submission_id, int):
            tip_triage.sync_closed_at(db.session, submission_id)
    return response


@bp.post("/<int:submission_id>/assignee")
def assign(submission_id: int) -> ResponseReturnValue:
    """Give the tip to an editor or admin, or to nobody."""
    submission = _tip(submission_id)
    form = AssigneeForm()
    if not form.validate_on_submit():
        return _refused(submission, form)
    try:
        changed = tip_triage.assign(db.session, submission, current_staff(), form.assignee_id())
    except TriageError as error:
        return render_tip(submission, str(error), 400)
    if changed:
        flash(_("Assignee saved."), "success")
    return _back(submission_id, "triage")


@bp.post("/<int:submission_id>/labels")
def add_label(submission_id: int) -> ResponseReturnValue:
    """Put a label on the tip."""
    submission = _tip(submission_id)
    form = LabelForm()
    if not form.validate_on_submit():
        g.tip_label_form = form
        return _refused(submission, form)
    try:
        added = tip_triage.add_label(db.session, submission, current_staff(), form.label.data or "")
    except TriageError as error:
        g.tip_label_form = form
        return render_tip(submission, str(error), 400)
    if added:
        flash(_("Label added."), "success")
    else:
        flash(_("The tip has that label already."), "info")
    return _back(submission_id, "labels")


@bp.post("/<int:submission_id>/labels/remove")
def remove_label(submission_id: int) -> ResponseReturnValue:
    """Take a label off the tip."""
    submission = _tip(submission_id)
    form = LabelForm()
    if not form.validate_on_submit():
        return _refused(submission, form)
    if tip_triage.remove_label(db.session, submission, current_staff(), form.label.data or ""):
        flash(_("Label removed."), "success")
    return _back(submission_id, "labels")


@bp.post("/<int:submission_id>/star")
def star(submission_id: int) -> ResponseReturnValue:
    """Star the tip, or take its star off."""
    submission = _tip(submission_id)
    form = SwitchForm()
    if not form.validate_on_submit():
        return _refused(submission, form)
    if tip_triage.set_starred(db.session, submission, current_staff(), form.on()):
        flash(_("Starred.") if form.on() else _("Star removed."), "success")
    return _back(submission_id, "triage")


@bp.post("/<int:submission_id>/keep")
def keep(submission_id: int) -> ResponseReturnValue:
    """Mark the tip to be kept when closed tips are purged, or take the mark off."""
    submission = _tip(submission_id)
    form = SwitchForm()
    if not form.validate_on_submit():
        return _refused(submission, form)
    if tip_triage.set_keep(db.session, submission, current_staff(), form.on()):
        flash(
            _("Marked to keep: it will not be purged.")
            if form.on()
            else _("Keep mark removed: once closed, it will be purged in time."),
            "success",
        )
    return _back(submission_id, "triage")


@bp.post("/<int:submission_id>/unread")
def mark_unread(submission_id: int) -> ResponseReturnValue:
    """Make the tip unread again for the editor, and go back to the list (opening reads it)."""
    submission = _tip(submission_id)
    form = PlainForm()
    if not form.validate_on_submit():
        return _refused(submission, form)
    tip_triage.mark_unread(db.session, submission.id, current_staff())
    flash(_("Tip %(ref)s marked as unread.", ref=submission.ref), "success")
    return redirect(url_for(".index", status=submission.status.value), code=303)


@bp.post("/<int:submission_id>/notes")
def add_note(submission_id: int) -> ResponseReturnValue:
    """Add an internal note, sealed like the tip; its page again with the error if it is not."""
    submission = _tip(submission_id)
    form = TipNoteForm(prefix="note")
    if not form.validate_on_submit():
        g.tip_note_form = form
        return _refused(submission, form)
    try:
        tip_triage.add_note(db.session, submission, current_staff(), form.body.data or "")
    except TriageError as error:
        g.tip_note_form = form
        return render_tip(submission, str(error), 400)
    flash(_("Internal note added."), "success")
    return _back(submission_id, "notes")


def render_tip(
    submission: Submission, conflict: str | None = None, code: int = 200
) -> ResponseReturnValue:
    """A tip's page, optionally with a message saying why a change was not applied."""
    staff = current_staff()
    keys = current_tip_keys(db.session, staff)
    details = db.session.get(TipDetails, submission.id)
    note_form = g.get("tip_note_form") or TipNoteForm(prefix="note", formdata=None)
    body = render_template(
        "tip.html",
        submission=submission,
        details=details,
        content=open_tip(db.session, submission, keys),
        # For the files and conversation partials, which open what they show with them.
        tip_keys=keys,
        history=audit_history(db.session, submission.id),
        targets=allowed_targets(submission.kind, submission.status),
        form=DecisionForm(formdata=None),
        labels=tip_triage.labels_of(db.session, submission.id),
        known_labels=tip_triage.known_labels(db.session),
        assignable=tip_triage.assignable_staff(db.session),
        notes=tip_triage.list_notes(db.session, submission.id, keys),
        note_form=note_form,
        label_form=g.get("tip_label_form") or LabelForm(formdata=None),
        label_max=limits.TIP_LABEL_MAX,
        labels_max=limits.TIP_LABELS_MAX,
        no_key_message=no_key_message() if keys is None else None,
        conflict=conflict,
    )
    return body, code


def _tip(submission_id: int) -> Submission:
    submission = get_submission(db.session, Kind.tip, submission_id)
    if submission is None:
        abort(404)
    return submission


def _refused(submission: Submission, form: FlaskForm) -> ResponseReturnValue:
    # A form with a value no button of the page sends (a stale page, a hand-made request).
    # A bad CSRF token never gets here: the app's CSRF check answers it first.
    errors = " ".join(str(error) for messages in form.errors.values() for error in messages)
    return render_tip(submission, _("Nothing was changed: %(errors)s", errors=errors), 400)


def _back(submission_id: int, anchor: str) -> ResponseReturnValue:
    return redirect(url_for(".show", submission_id=submission_id, _anchor=anchor), code=303)
