"""Bulk decisions: approve, reject or mark as spam a selection of comments, after one confirmation.

Each comment is changed through core.transitions (one audit row each, action "bulk"); the ones
someone else decided meanwhile, or that cannot make the move, are skipped and reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from core import limits
from core.db import db
from core.enums import Kind, Status
from core.errors import error_page
from core.models import AuditEvent, StaffUser, Submission
from core.transitions import ALLOWED, STAFF, SYSTEM, Change, change_many
from core.urls import local_path
from moderation.access import current_staff
from moderation.display import actor_label, status_label

bp = Blueprint("bulk", __name__)

# How many comments one bulk decision may change: a few pages' worth, so that one click cannot
# rewrite a whole queue, and the confirmation page stays readable.
MAX_SELECTION = 200
# The bulk buttons and the status each one moves comments to.
ACTIONS = {"approve": Status.published, "reject": Status.rejected, "spam": Status.spam}
AUDIT_ACTION = "bulk"


class BadSelection(ValueError):
    """The posted selection is empty, malformed, too large or names no such comment."""


@dataclass(frozen=True)
class Selected:
    """One selected comment and the version the moderator saw."""

    submission_id: int
    version: int


@dataclass(frozen=True)
class Skipped:
    """A selected comment that was left as it is, and who decided it meanwhile (if anyone)."""

    submission_id: int
    status: Status
    decided_by: str | None = None


@dataclass
class BulkOutcome:
    """What a bulk decision did: the comments changed and those skipped, and why."""

    to: Status
    changed: list[int] = field(default_factory=list)
    stale: list[Skipped] = field(default_factory=list)  # someone decided them meanwhile
    not_allowed: list[Skipped] = field(default_factory=list)  # the move is not allowed


def parse_selection(values: Iterable[str]) -> list[Selected]:
    """The "<id>:<version>" values of the selection's checkboxes, in order, without repeats."""
    selection: dict[int, Selected] = {}
    for value in values:
        ident, sep, version = value.partition(":")
        try:
            if not sep:
                raise ValueError(value)
            item = Selected(int(ident), int(version))
        except ValueError:
            raise BadSelection(_("The selection could not be read; reload the page.")) from None
        if item.submission_id <= 0 or item.version < 0:
            raise BadSelection(_("The selection could not be read; reload the page."))
        selection.setdefault(item.submission_id, item)
    if not selection:
        raise BadSelection(_("Select at least one comment."))
    if len(selection) > MAX_SELECTION:
        raise BadSelection(
            _(
                "You selected %(count)d comments; at most %(max)d can be changed at once.",
                count=len(selection),
                max=MAX_SELECTION,
            )
        )
    return list(selection.values())


def selected_comments(session: Session, selection: Sequence[Selected]) -> list[Submission]:
    """The selected comments, in the order selected; BadSelection if one is not a comment."""
    ids = [item.submission_id for item in selection]
    found = {
        s.id: s
        for s in session.scalars(
            select(Submission).where(Submission.id.in_(ids), Submission.kind == Kind.comment)
        )
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise BadSelection(
            _("There is no comment %(ids)s.", ids=", ".join(f"#{i}" for i in missing))
        )
    return [found[i] for i in ids]


def apply_bulk(
    session: Session,
    selection: Sequence[Selected],
    to: Status,
    *,
    actor: StaffUser,
    reason: str = "",
) -> BulkOutcome:
    """Move each selected comment to `to` unless it changed since its version; commit once."""
    outcome = BulkOutcome(to)
    comments = selected_comments(session, selection)
    changes = []
    for item, comment in zip(selection, comments, strict=True):
        if comment.version != item.version:
            outcome.stale.append(Skipped(comment.id, comment.status))
        elif ALLOWED[Kind.comment].get((comment.status, to)) != STAFF:
            outcome.not_allowed.append(Skipped(comment.id, comment.status))
        else:
            changes.append(
                Change(comment.id, Kind.comment, comment.status, to, expected_version=item.version)
            )
    made = change_many(session, changes, actor=actor, reason=reason, action=AUDIT_ACTION)
    session.commit()
    outcome.changed = [change.submission_id for change in made]
    # Those whose conditional UPDATE found them moved on lost a race between read and write.
    lost = sorted({change.submission_id for change in changes} - set(outcome.changed))
    session.expire_all()
    if lost:
        rows = session.execute(
            select(Submission.id, Submission.status).where(Submission.id.in_(lost))
        ).all()
        outcome.stale.extend(Skipped(row.id, Status(row.status)) for row in rows)
    outcome.stale = [
        Skipped(s.submission_id, s.status, _last_actor(session, s.submission_id))
        for s in outcome.stale
    ]
    session.commit()  # end the read: on SQLite an open transaction holds the write lock
    return outcome


def _last_actor(session: Session, submission_id: int) -> str | None:
    return session.scalars(
        select(AuditEvent.actor_label)
        .where(AuditEvent.submission_id == submission_id, AuditEvent.to_status.is_not(None))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()


def summary(outcome: BulkOutcome) -> str:
    """ "10 comments are now Published; 2 had already been decided by others: …" """
    status = status_label(outcome.to)
    parts = [
        ngettext(
            "%(num)d comment is now %(status)s.",
            "%(num)d comments are now %(status)s.",
            len(outcome.changed),
            status=status,
        )
    ]
    if outcome.stale:
        listed = ", ".join(
            _(
                "#%(id)d (by %(who)s)",
                id=s.submission_id,
                who=actor_label(s.decided_by or SYSTEM),
            )
            for s in outcome.stale
        )
        parts.append(
            ngettext(
                "%(num)d had already been decided by others: %(list)s.",
                "%(num)d had already been decided by others: %(list)s.",
                len(outcome.stale),
                list=listed,
            )
        )
    if outcome.not_allowed:
        listed = ", ".join(
            _("#%(id)d (%(status)s)", id=s.submission_id, status=status_label(s.status))
            for s in outcome.not_allowed
        )
        parts.append(
            ngettext(
                "%(num)d could not be moved to %(status)s: %(list)s.",
                "%(num)d could not be moved to %(status)s: %(list)s.",
                len(outcome.not_allowed),
                status=status,
                list=listed,
            )
        )
    return " ".join(parts)


class BulkForm(FlaskForm):
    """A bulk decision: which action, an optional reason, and whether it was confirmed."""

    action = StringField(validators=[InputRequired(), AnyOf(list(ACTIONS))])
    reason = TextAreaField(validators=[Optional(), Length(max=limits.REASON_MAX)])
    confirm = BooleanField()
    # Where the selection was made (a queue page), to go back there.
    next = HiddenField()


def confirm_question(action: str, count: int) -> str:
    """ "Approve 12 comments?" in the reader's language."""
    if action == "approve":
        return ngettext("Approve %(num)d comment?", "Approve %(num)d comments?", count)
    if action == "reject":
        return ngettext("Reject %(num)d comment?", "Reject %(num)d comments?", count)
    return ngettext("Mark %(num)d comment as spam?", "Mark %(num)d comments as spam?", count)


@bp.post("/queue/bulk")
def bulk() -> ResponseReturnValue:
    """Ask to confirm a bulk decision on the selected comments, or (confirmed) make it."""
    form = BulkForm()
    if not form.validate_on_submit():
        if form.reason.errors:
            message = _("A reason can be at most %(max)d characters.", max=limits.REASON_MAX)
        else:
            message = _("Choose approve, reject or spam for the selection.")
        return error_page(400, message)
    try:
        selection = parse_selection(request.form.getlist("selected"))
        if not form.confirm.data:
            comments = selected_comments(db.session, selection)
            return render_template(
                "bulk_confirm.html",
                form=form,
                items=list(zip(selection, comments, strict=True)),
                question=confirm_question(form.action.data or "", len(comments)),
                back=local_path(form.next.data) or url_for("submissions.queue"),
            )
        outcome = apply_bulk(
            db.session,
            selection,
            ACTIONS[form.action.data or ""],
            actor=current_staff(),
            reason=(form.reason.data or "").strip(),
        )
    except BadSelection as bad:
        return error_page(400, str(bad))
    skipped = outcome.stale or outcome.not_allowed
    flash(summary(outcome), "info" if skipped else "success")
    return redirect(local_path(form.next.data) or url_for("submissions.queue"), code=303)
