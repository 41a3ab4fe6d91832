"""Featuring a comment: a moderator pins a published top-level comment on top of its thread.

Featuring changes what readers are shown, so it drops the article's cached thread
(core.thread_cache.touch) in the same commit as the change and its audit row. Replies cannot be
featured: the thread pins whole conversations, not answers inside one.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from core import thread_cache
from core.db import db, utcnow
from core.enums import Kind, Status
from core.errors import error_page
from core.models import AuditEvent, StaffUser, Submission
from moderation.access import current_staff
from moderation.review import get_submission

bp = Blueprint("featuring", __name__)

FEATURE_ACTION = "feature"
UNFEATURE_ACTION = "unfeature"
# What readers see (intake.submissions.VISIBLE): only these can be featured.
FEATURABLE = frozenset({Status.published, Status.reported})


REPLY_MESSAGE = _l("A reply cannot be featured: feature the comment it answers.")
HIDDEN_MESSAGE = _l("Only a published comment can be featured.")


class CannotFeature(ValueError):
    """The comment cannot be featured; str() says why, in the reader's language."""


class ActionForm(FlaskForm):
    """Only the CSRF token: the comment is in the URL."""


def can_feature(submission: Submission) -> bool:
    """Whether the comment page offers "Feature": a visible comment that is not a reply."""
    return (
        submission.kind is Kind.comment
        and submission.parent_id is None
        and submission.status in FEATURABLE
    )


def set_featured(
    session: Session, submission: Submission, featured: bool, actor: StaffUser
) -> bool:
    """Feature or stop featuring a comment (audited, committed); False if nothing changed."""
    if featured:
        if submission.parent_id is not None:
            raise CannotFeature(str(REPLY_MESSAGE))
        if submission.status not in FEATURABLE:
            raise CannotFeature(str(HIDDEN_MESSAGE))
    if (submission.featured_at is not None) is featured:
        return False
    now = utcnow()
    submission.featured_at = now if featured else None
    session.add(
        AuditEvent(
            at=now,
            actor_id=actor.id,
            actor_label=actor.email,
            action=FEATURE_ACTION if featured else UNFEATURE_ACTION,
            submission_id=submission.id,
            reason="",
        )
    )
    thread_cache.touch(session, submission.article_id)
    session.commit()
    return True


@bp.post("/submissions/<int:submission_id>/feature")
def feature(submission_id: int) -> ResponseReturnValue:
    """Pin a comment on top of its thread."""
    return _set(submission_id, True)


@bp.post("/submissions/<int:submission_id>/unfeature")
def unfeature(submission_id: int) -> ResponseReturnValue:
    """Stop pinning a comment."""
    return _set(submission_id, False)


def _set(submission_id: int, featured: bool) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    submission = get_submission(db.session, Kind.comment, submission_id)
    if submission is None:
        abort(404)
    try:
        changed = set_featured(db.session, submission, featured, current_staff())
    except CannotFeature as exc:
        db.session.rollback()
        return error_page(400, str(exc))
    if changed:
        flash(_("Comment featured.") if featured else _("Comment no longer featured."), "success")
    return redirect(url_for("submissions.show", submission_id=submission_id), code=303)
