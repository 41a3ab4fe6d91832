"""Writing back to a source: a tip's conversation (follow-ups and replies) and the reply form.

A reply is sealed twice: to the tip key, so that colleagues read it on the tip's page, and to
the reply key derived from the source's codename (core.codenames), so that the source reads it
when they come back. The staff site cannot open the second copy; nobody but the source can.
Replying is audited ("tip_reply"), never with the reply's text. It also keeps the codename
working: one that got a reply does not expire by the no-reply rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import Blueprint, abort, flash, g, redirect, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from core import codenames, limits, tipkeys
from core.db import db, utcnow
from core.enums import Kind, Role, TipMessageKind
from core.models import Attachment, AuditEvent, StaffUser, Submission, TipDetails, TipMessage

# The module, not its function: moderation.tips renders the page this form sits on.
from moderation import tips
from moderation.access import current_staff, ensure_role, has_role
from moderation.review import get_submission
from moderation.tip_access import current_tip_keys

bp = Blueprint("tip_replies", __name__, url_prefix="/tips")

AUDIT_ACTION = "tip_reply"


class ReplyError(ValueError):
    """A reply cannot be sent; the message says why (shown to the editor)."""


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ReplyForm(FlaskForm):
    """A reply to the source, which they read when they come back with their codename."""

    body = TextAreaField(
        _l("Reply to the source"),
        validators=[
            DataRequired(_l("Write the reply first.")),
            Length(
                max=limits.TIP_MESSAGE_MAX,
                message=_l("A reply can be at most %(max)d characters long."),
            ),
        ],
        filters=[_strip],
    )


@bp.before_request
def editors_only() -> None:
    """Replying, like everything about tips, is for editors and admins."""
    ensure_role(Role.editor)


@bp.record_once
def _register_thread(state: BlueprintSetupState) -> None:
    # The tip page includes _tip_thread.html with only `submission` at hand.
    state.app.jinja_env.globals["tip_thread"] = tip_thread


# --- replying --------------------------------------------------------------------------------


def can_reply(details: TipDetails | None) -> bool:
    """Whether the source of this tip can be written to (it has a working reply key)."""
    return details is not None and details.reply_public_key is not None


def add_reply(session: Session, submission: Submission, author: StaffUser, text: str) -> TipMessage:
    """Reply to a tip's source: sealed to the tip key and to their reply key, audited; commits."""
    details = session.get(TipDetails, submission.id)
    if details is None or details.reply_public_key is None:
        raise ReplyError(
            _l("This source cannot be replied to: their tip came without a working codename.")
        )
    key = tipkeys.current_public_key(session)
    if key is None:
        raise ReplyError(
            _l("There is no tip key to seal the reply to yet: set one up (`tipline tips setup`).")
        )
    content = {"text": text[: limits.TIP_MESSAGE_MAX]}
    now = utcnow()
    reply = TipMessage(
        submission_id=submission.id,
        kind=TipMessageKind.reply,
        author_id=author.id,
        author_label=author.email,
        tip_key_id=key.id,
        sealed=tipkeys.seal_to(key, content),
        sealed_for_source=codenames.seal_for_source(details.reply_public_key, content),
        created_at=now,
    )
    session.add(reply)
    codenames.keep_after_reply(details)
    session.add(
        AuditEvent(
            at=now,
            actor_id=author.id,
            actor_label=author.email,
            action=AUDIT_ACTION,
            submission_id=submission.id,
            reason="",
        )
    )
    session.commit()
    return reply


@bp.post("/<int:submission_id>/replies")
def reply(submission_id: int) -> ResponseReturnValue:
    """Send a reply; the tip's page again with the error if it is empty, too long or impossible."""
    submission = get_submission(db.session, Kind.tip, submission_id)
    if submission is None:
        abort(404)
    form = ReplyForm(prefix="reply")
    if not form.validate_on_submit():
        g.tip_reply_form = form
        return tips.render_tip(submission, _("The reply was not sent: see the form below."), 400)
    try:
        add_reply(db.session, submission, current_staff(), form.body.data or "")
    except ReplyError as error:
        g.tip_reply_form = form
        return tips.render_tip(submission, str(error), 400)
    flash(_("Reply sent. The source reads it when they come back with their codename."), "success")
    return redirect(url_for("tips.show", submission_id=submission_id, _anchor="thread"), 303)


# --- the conversation on the tip's page --------------------------------------------------------


@dataclass(frozen=True)
class ThreadMessage:
    """A follow-up or a reply as an editor reads it; or why it cannot be opened."""

    from_source: bool
    author_label: str
    created_at: datetime
    text: str = ""
    problem: str | None = None
    files: int = 0


@dataclass(frozen=True)
class Thread:
    """A tip's conversation with its source, and what the reply form needs."""

    messages: list[ThreadMessage] = field(default_factory=list)
    can_reply: bool = False
    may_reply: bool = False
    form: ReplyForm | None = None


def list_thread(
    session: Session, submission_id: int, keys: dict[int, bytes] | None
) -> list[ThreadMessage]:
    """The source's follow-ups and our replies, oldest first, opened where they can be."""
    rows = session.scalars(
        select(TipMessage)
        .where(
            TipMessage.submission_id == submission_id,
            TipMessage.kind.in_((TipMessageKind.followup, TipMessageKind.reply)),
        )
        .order_by(TipMessage.id)
    )
    counted = session.execute(
        select(Attachment.message_id, func.count())
        .where(Attachment.submission_id == submission_id, Attachment.message_id.is_not(None))
        .group_by(Attachment.message_id)
    )
    files = {message_id: int(n) for message_id, n in counted if message_id is not None}
    messages = []
    for row in rows:
        from_source = row.kind is TipMessageKind.followup
        label = "" if from_source else row.author_label
        count = files.get(row.id, 0)
        if keys is None:
            problem = tips.no_key_message()
            messages.append(ThreadMessage(from_source, label, row.created_at, "", problem, count))
            continue
        try:
            data = tipkeys.open_sealed(keys, row.tip_key_id, row.sealed)
        except ValueError:  # TipKeyError, or content that is not what a message seals
            problem = _("This message could not be opened with your tip keys.")
            messages.append(ThreadMessage(from_source, label, row.created_at, "", problem, count))
            continue
        text = str(data.get("text") or "")
        messages.append(ThreadMessage(from_source, label, row.created_at, text, None, count))
    return messages


def tip_thread(submission: Submission) -> Thread:
    """What _tip_thread.html shows for `submission` (a template global)."""
    staff = g.get("staff")
    if staff is None or submission.kind is not Kind.tip:
        return Thread()
    keys = current_tip_keys(db.session, staff)
    details = db.session.get(TipDetails, submission.id)
    form: ReplyForm | None = g.get("tip_reply_form")
    return Thread(
        messages=list_thread(db.session, submission.id, keys),
        can_reply=can_reply(details),
        may_reply=has_role(Role.editor),
        form=form if form is not None else ReplyForm(prefix="reply", formdata=None),
    )
