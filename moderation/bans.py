"""Banning a commenter from a comment's page, and the list of bans with their "Lift" buttons.

A ban names the sender by what the comment stored: its e-mail hash, its network hash, or its
display name (folded as worker.checks.reputation matches it). Addresses are never shown or
stored, only the keyed hashes the public site already kept. The worker reads bans again every
settings.knowledge_ttl_seconds; from then on the reputation check rejects the sender's new
submissions and names the ban. Every ban and every lift writes an audit row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, joinedload
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length

from core import limits
from core.db import db, utcnow
from core.enums import BanTarget, Kind, Role
from core.models import AuditEvent, Ban, StaffUser, Submission
from moderation.access import current_staff, ensure_role
from moderation.review import get_submission
from moderation.submissions import render_submission
from worker.checks.reputation import name_key

bp = Blueprint("bans", __name__)

# How long a ban lasts, by the form's value: days, or None for good.
DURATIONS: dict[str, int | None] = {"1": 1, "7": 7, "30": 30, "permanent": None}
# The ended bans the list shows, newest first.
ENDED_SHOWN = 200
# Who the audit log names for a ban lifted with `tipline bans lift`.
CLI_ACTOR = "cli"

DURATION_LABELS = {
    "1": _l("1 day"),
    "7": _l("7 days"),
    "30": _l("30 days"),
    "permanent": _l("Permanently"),
}

TARGET_LABELS = {
    BanTarget.email: _l("E-mail address"),
    BanTarget.ip: _l("Network"),
    BanTarget.name: _l("Display name"),
}


class BanForm(FlaskForm):
    """What to ban a comment's sender by, why, and for how long."""

    email = BooleanField(_l("E-mail address"))
    ip = BooleanField(_l("Network"))
    name = BooleanField(_l("Display name"))
    reason = TextAreaField(
        _l("Reason"),
        validators=[
            DataRequired(_l("Say why: moderators read it with every submission the ban rejects.")),
            Length(max=limits.REASON_MAX),
        ],
    )
    # Rendered as a <select> by the template (WTForms' SelectField changes its choices' API
    # between the versions we support).
    duration = StringField(_l("For"), default="7", validators=[AnyOf(list(DURATIONS))])


def ban_form(**kwargs: Any) -> BanForm:
    """The ban form, its fields prefixed: the decision form on the same page has a reason too."""
    return BanForm(prefix="ban", **kwargs)


class LiftForm(FlaskForm):
    """A "Lift" button: nothing but its CSRF token."""


@dataclass(frozen=True)
class BanPanel:
    """The "Ban this sender" section of a comment's page."""

    form: BanForm
    # What this comment's sender can be banned by, with what the page shows of each.
    offered: dict[BanTarget, str]
    # Bans in force that match this sender.
    active: list[Ban]
    # The durations offered: (form value, label).
    durations: list[tuple[str, str]]


# --- the rules, callable without a request ------------------------------------------------------


def sender_targets(submission: Submission) -> dict[BanTarget, str]:
    """What a comment's sender can be banned by (only what it has), and the value each bans."""
    found: dict[BanTarget, str] = {}
    if submission.email_hash:
        found[BanTarget.email] = submission.email_hash
    if submission.ip_hash:
        found[BanTarget.ip] = submission.ip_hash
    name = name_key(submission.author_name or "")
    if name:
        found[BanTarget.name] = name
    return found


def in_force(now: datetime) -> ColumnElement[bool]:
    """The SQL condition of a ban that applies at `now`."""
    return Ban.lifted_at.is_(None) & or_(Ban.expires_at.is_(None), Ban.expires_at > now)


def active_bans(session: Session, values: dict[BanTarget, str]) -> list[Ban]:
    """The bans in force that name one of `values`."""
    if not values:
        return []
    matches = [(Ban.target == target) & (Ban.value == value) for target, value in values.items()]
    return list(
        session.scalars(select(Ban).where(in_force(utcnow()), or_(*matches)).order_by(Ban.id)).all()
    )


def ban_sender(
    session: Session,
    submission: Submission,
    targets: Iterable[BanTarget],
    reason: str,
    days: int | None,
    actor: StaffUser,
) -> list[Ban]:
    """Ban a comment's sender by `targets`, committed with one audit row; the new bans.

    A target the sender is already banned by is left as it is. ValueError for a target the
    comment does not have.
    """
    values = sender_targets(submission)
    chosen = list(dict.fromkeys(targets))
    missing = [t.value for t in chosen if t not in values]
    if missing:
        raise ValueError(f"submission {submission.id} has no {', '.join(missing)} to ban")
    already = {(ban.target, ban.value) for ban in active_bans(session, values)}
    now = utcnow()
    made = [
        Ban(
            target=target,
            value=values[target],
            reason=reason[: limits.REASON_MAX],
            submission_id=submission.id,
            created_by_id=actor.id,
            created_at=now,
            expires_at=now + timedelta(days=days) if days else None,
        )
        for target in chosen
        if (target, values[target]) not in already
    ]
    if made:
        session.add_all(made)
        what = ", ".join(ban.target.value for ban in made)
        length = f"{days} days" if days else "permanent"
        _audit(session, actor, "ban", submission.id, f"{what} ({length}): {reason}", now)
    session.commit()
    return made


def lift_ban(session: Session, ban_id: int, actor: StaffUser | None) -> Ban | None:
    """Lift a ban, committed with an audit row (actor None: the CLI); None if there is none."""
    ban = session.get(Ban, ban_id)
    if ban is None:
        return None
    if ban.lifted_at is None:
        now = utcnow()
        ban.lifted_at = now
        _audit(session, actor, "unban", ban.submission_id, f"{ban.target.value}: {ban.reason}", now)
        session.commit()
    return ban


def list_bans(session: Session) -> tuple[list[Ban], list[Ban]]:
    """The bans in force, and the latest that ended (lifted or expired), newest first."""
    now = utcnow()
    query = select(Ban).options(joinedload(Ban.created_by)).order_by(Ban.id.desc())
    active = list(session.scalars(query.where(in_force(now))).all())
    ended = list(session.scalars(query.where(~in_force(now)).limit(ENDED_SHOWN)).all())
    return active, ended


def _audit(
    session: Session,
    actor: StaffUser | None,
    action: str,
    submission_id: int | None,
    reason: str,
    at: datetime,
) -> None:
    session.add(
        AuditEvent(
            at=at,
            actor_id=actor.id if actor else None,
            actor_label=actor.email if actor else CLI_ACTOR,
            action=action,
            submission_id=submission_id,
            reason=reason[: limits.REASON_MAX],
        )
    )


# --- what the pages show -----------------------------------------------------------------------


def ban_panel(submission: Submission) -> BanPanel:
    """The "Ban this sender" section of a comment's page (the form as posted, after an error)."""
    values = sender_targets(submission)
    active = active_bans(db.session, values)
    banned = {ban.target for ban in active}
    # What the sender is already banned by is listed, not offered again.
    shown = {
        target: value if target is BanTarget.name else _short(value)
        for target, value in values.items()
        if target not in banned
    }
    form: BanForm = g.get("ban_form") or ban_form(formdata=None)
    durations = [(value, str(label)) for value, label in DURATION_LABELS.items()]
    return BanPanel(form, shown, active, durations)


def _short(digest: str) -> str:
    # Enough of a keyed hash to tell two senders apart on the page; it reveals no address.
    return digest[:12] + "…"


def ban_target_label(target: BanTarget) -> str:
    """What a ban names, in the reader's language."""
    return str(TARGET_LABELS[target])


def ban_shown_value(ban: Ban) -> str:
    """What the list shows of a ban's value: a name as stored, a hash shortened."""
    return ban.value if ban.target is BanTarget.name else _short(ban.value)


@bp.app_context_processor
def template_helpers() -> dict[str, Any]:
    """The comment page's ban section and the labels of the bans list."""
    return {
        "ban_panel": ban_panel,
        "ban_target_label": ban_target_label,
        "ban_shown_value": ban_shown_value,
    }


# --- views -------------------------------------------------------------------------------------


@bp.before_request
def moderators_and_above() -> None:
    """Every staff role may ban and lift; the guard already keeps everyone else out."""
    ensure_role(Role.moderator)


@bp.post("/submissions/<int:submission_id>/ban")
def ban(submission_id: int) -> ResponseReturnValue:
    """Ban a comment's sender by what the form chose."""
    submission = get_submission(db.session, Kind.comment, submission_id)
    if submission is None:
        abort(404)
    form = ban_form()
    offered = sender_targets(submission)
    chosen = [target for target in offered if form[target.value].data]
    if not form.validate_on_submit() or not chosen:
        if not chosen:
            form.form_errors.append(_("Choose what to ban the sender by."))
        g.ban_form = form
        return render_submission(
            submission, _("The sender was not banned: see the form below."), 400
        )
    made = ban_sender(
        db.session,
        submission,
        chosen,
        (form.reason.data or "").strip(),
        DURATIONS[form.duration.data or "7"],
        current_staff(),
    )
    if made:
        flash(_("Banned: new submissions from this sender will be rejected."), "success")
    else:
        flash(_("This sender was already banned by that."), "info")
    return redirect(url_for("submissions.show", submission_id=submission_id), code=303)


@bp.get("/bans")
def index() -> ResponseReturnValue:
    """The bans in force, with a "Lift" button each, and the ones that ended."""
    active, ended = list_bans(db.session)
    return render_template("bans.html", active=active, ended=ended)


@bp.post("/bans/<int:ban_id>/lift")
def lift(ban_id: int) -> ResponseReturnValue:
    """Lift a ban."""
    if not LiftForm().validate_on_submit():
        abort(400)
    if lift_ban(db.session, ban_id, current_staff()) is None:
        abort(404)
    flash(_("The ban was lifted."), "success")
    return redirect(url_for(".index"), code=303)
