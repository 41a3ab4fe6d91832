"""Moderators' notes on a comment: for colleagues, never shown to readers.

Adding one writes an audit row ("note added") without the note's text: the notes are on the
comment's page already, and the audit log is read more widely than any one comment.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from core import limits
from core.db import db, utcnow
from core.enums import Kind
from core.models import AuditEvent, Note, StaffUser

# The module, not its function: moderation.submission_page imports this module in turn.
from moderation import submissions
from moderation.access import current_staff
from moderation.review import get_submission

bp = Blueprint("notes", __name__)

AUDIT_ACTION = "note"


class NoteForm(FlaskForm):
    """A note to add to a comment."""

    body = TextAreaField(
        _l("Note"),
        validators=[
            DataRequired(_l("Write the note first.")),
            Length(
                max=limits.NOTE_MAX,
                message=_l("A note can be at most %(max)d characters long."),
            ),
        ],
    )


def note_form() -> NoteForm:
    """The note form, its fields prefixed: the decision and ban forms share the page."""
    form: NoteForm | None = g.get("note_form")
    return form if form is not None else NoteForm(prefix="note", formdata=None)


def add_note(session: Session, submission_id: int, author: StaffUser, body: str) -> Note:
    """Add a note to a submission, committed with an audit row that does not repeat it."""
    now = utcnow()
    note = Note(
        submission_id=submission_id,
        author_id=author.id,
        author_label=author.email,
        body=body[: limits.NOTE_MAX],
        created_at=now,
    )
    session.add(note)
    session.add(
        AuditEvent(
            at=now,
            actor_id=author.id,
            actor_label=author.email,
            action=AUDIT_ACTION,
            submission_id=submission_id,
            reason="",
        )
    )
    session.commit()
    return note


def list_notes(session: Session, submission_id: int) -> list[Note]:
    """A submission's notes, oldest first."""
    return list(
        session.scalars(select(Note).where(Note.submission_id == submission_id).order_by(Note.id))
    )


@bp.post("/submissions/<int:submission_id>/notes")
def add(submission_id: int) -> ResponseReturnValue:
    """Add a note to a comment; its page again with the error if the note is empty or too long."""
    submission = get_submission(db.session, Kind.comment, submission_id)
    if submission is None:
        abort(404)
    form = NoteForm(prefix="note")
    if not form.validate_on_submit():
        g.note_form = form
        return submissions.render_submission(
            submission, _("The note was not saved: see the form below."), 400
        )
    add_note(db.session, submission_id, current_staff(), (form.body.data or "").strip())
    flash(_("Note added."), "success")
    return redirect(url_for("submissions.show", submission_id=submission_id, _anchor="notes"), 303)
