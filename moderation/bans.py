"""Sanctioning a commenter from a comment's page, and the list of sanctions with "Lift" buttons.

A sanction (a Ban row) names the sender by what the comment stored: its e-mail hash, its network
hash, or its display name (folded as worker.checks.reputation matches it). Addresses are never
shown or stored, only the keyed hashes the public site already kept. Its effect is a ban (the
sender's new submissions go to spam, the ban named) or pre-moderation (they wait for a person,
whatever the checks say). A ban may also reject every pending, published or reported comment of
the sender (by e-mail or network hash). The worker reads sanctions again every
settings.knowledge_ttl_seconds. Every sanction, every lift and every comment rejected with a
ban writes an audit row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, joinedload
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length

from core import limits
from core.db import db, utcnow
from core.enums import BanEffect, BanTarget, Kind, Role, Status
from core.models import AuditEvent, Ban, StaffUser, Submission
from core.transitions import Change, change_many
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

EFFECT_LABELS = {
    BanEffect.ban: _l("Ban"),
    BanEffect.premoderate: _l("Pre-moderation"),
}

# The audit actions of making and lifting a sanction, by its effect.
MADE_ACTION = {BanEffect.ban: "ban", BanEffect.premoderate: "premoderate"}
LIFTED_ACTION = {BanEffect.ban: "unban", BanEffect.premoderate: "unpremoderate"}
# The audit action of a comment rejected along with its sender's ban.
REJECTED_ACTION = "ban_reject"
# What "reject all" takes back: what readers can see or moderators have yet to decide.
REJECTABLE = (Status.pending, Status.published, Status.reported)
# What "reject all" finds the sender's comments by: a name is no identity.
REJECT_BY = (BanTarget.email, BanTarget.ip)
# The bans list's filter: which bans it shows.
STATES = ("all", "active", "ended")


class BanForm(FlaskForm):
    """What to ban a comment's sender by, why, and for how long."""

    email = BooleanField(_l("E-mail address"))
    ip = BooleanField(_l("Network"))
    name = BooleanField(_l("Display name"))
    # Rendered as radio buttons by the template.
    effect = StringField(
        _l("What to do"), default=BanEffect.ban.value, validators=[AnyOf(list(BanEffect))]
    )
    reject_all = BooleanField(_l("Also reject all of this author's pending and published comments"))
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
    # The effects offered: (form value, label).
    effects: list[tuple[str, str]]


@dataclass(frozen=True)
class Sanctioned:
    """What ban_sender did: the new Ban rows, and how many comments it rejected."""

    made: list[Ban]
    rejected: int = 0


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
    *,
    effect: BanEffect = BanEffect.ban,
    reject_all: bool = False,
) -> Sanctioned:
    """Ban (or pre-moderate) a comment's sender by `targets`, with one audit row; committed.

    A target the sender is already sanctioned by with this effect is left as it is. With
    `reject_all` (bans only), the sender's pending, published and reported comments found by
    the chosen e-mail or network hash are rejected too, in the same transaction. ValueError for
    a target the comment does not have, or a `reject_all` that cannot apply.
    """
    values = sender_targets(submission)
    chosen = list(dict.fromkeys(targets))
    missing = [t.value for t in chosen if t not in values]
    if missing:
        raise ValueError(f"submission {submission.id} has no {', '.join(missing)} to ban")
    by = {target: values[target] for target in chosen if target in REJECT_BY}
    if reject_all and (effect is not BanEffect.ban or not by):
        raise ValueError("reject_all needs a ban by e-mail or network")
    already = {
        (ban.target, ban.value) for ban in active_bans(session, values) if ban.effect is effect
    }
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
            effect=effect,
        )
        for target in chosen
        if (target, values[target]) not in already
    ]
    length = f"{days} days" if days else "permanent"
    if made:
        session.add_all(made)
        what = ", ".join(ban.target.value for ban in made)
        action = MADE_ACTION[effect]
        _audit(session, actor, action, submission.id, f"{what} ({length}): {reason}", now)
    rejected = 0
    if reject_all:
        # Each rejected comment's audit row names the ban it came with.
        why = f"ban ({', '.join(t.value for t in by)}, {length}): {reason}"
        rejected = reject_senders_comments(session, by, actor, why)
    session.commit()
    return Sanctioned(made, rejected)


def reject_senders_comments(
    session: Session, values: dict[BanTarget, str], actor: StaffUser, reason: str
) -> int:
    """Reject the pending, published and reported comments with one of `values` (e-mail or
    network hash), each with an audit row; how many. The caller commits.

    A comment someone else decided meanwhile lost the race and is left as they decided it.
    """
    matches = [
        Submission.email_hash == value if target is BanTarget.email else Submission.ip_hash == value
        for target, value in values.items()
        if target in REJECT_BY
    ]
    if not matches:
        return 0
    rows = session.execute(
        select(Submission.id, Submission.status, Submission.version)
        .where(
            Submission.kind == Kind.comment,
            Submission.status.in_(REJECTABLE),
            or_(*matches),
        )
        .order_by(Submission.id)
    ).all()
    changes = [
        Change(row.id, Kind.comment, row.status, Status.rejected, row.version) for row in rows
    ]
    made = change_many(session, changes, actor=actor, reason=reason, action=REJECTED_ACTION)
    return len(made)


def lift_ban(session: Session, ban_id: int, actor: StaffUser | None) -> Ban | None:
    """Lift a ban, committed with an audit row (actor None: the CLI); None if there is none."""
    ban = session.get(Ban, ban_id)
    if ban is None:
        return None
    if ban.lifted_at is None:
        now = utcnow()
        ban.lifted_at = now
        action = LIFTED_ACTION[ban.effect]
        _audit(session, actor, action, ban.submission_id, f"{ban.target.value}: {ban.reason}", now)
        session.commit()
    return ban


def list_bans(session: Session) -> tuple[list[Ban], list[Ban]]:
    """The sanctions in force, and the latest that ended (lifted or expired), newest first."""
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


def ban_panel(submission: Submission, active: Sequence[Ban] | None = None) -> BanPanel:
    """The "Ban this sender" section of a comment's page (the form as posted, after an error).

    `active`, the sanctions in force on the sender when the page has read them already (the
    sender's record lists the same ones), saves reading them again.
    """
    values = sender_targets(submission)
    active = list(active) if active is not None else active_bans(db.session, values)
    # What the sender is already banned by is listed, not offered again (what they are only
    # pre-moderated by is: a ban can follow).
    banned = {ban.target for ban in active if ban.effect is BanEffect.ban}
    shown = {
        target: value if target is BanTarget.name else _short(value)
        for target, value in values.items()
        if target not in banned
    }
    form: BanForm = g.get("ban_form") or ban_form(formdata=None)
    durations = [(value, str(label)) for value, label in DURATION_LABELS.items()]
    effects = [(effect.value, str(label)) for effect, label in EFFECT_LABELS.items()]
    return BanPanel(form, shown, active, durations, effects)


def _short(digest: str) -> str:
    # Enough of a keyed hash to tell two senders apart on the page; it reveals no address.
    return digest[:12] + "…"


def ban_target_label(target: BanTarget) -> str:
    """What a ban names, in the reader's language."""
    return str(TARGET_LABELS[target])


def ban_effect_label(effect: BanEffect) -> str:
    """What a sanction does, in the reader's language."""
    return str(EFFECT_LABELS[effect])


def ban_shown_value(ban: Ban) -> str:
    """What the list shows of a ban's value: a name as stored, a hash shortened."""
    return ban.value if ban.target is BanTarget.name else _short(ban.value)


@bp.app_context_processor
def template_helpers() -> dict[str, Any]:
    """The comment page's ban section and the labels of the bans list."""
    return {
        "ban_panel": ban_panel,
        "ban_target_label": ban_target_label,
        "ban_effect_label": ban_effect_label,
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
    valid = form.validate_on_submit()
    effect = BanEffect(form.effect.data) if form.effect.data in list(BanEffect) else None
    reject_all = bool(form.reject_all.data)
    if not chosen:
        form.form_errors.append(_("Choose what to ban the sender by."))
    elif reject_all and effect is BanEffect.premoderate:
        form.reject_all.errors = [_("Comments are rejected with a ban, not with pre-moderation.")]
    elif reject_all and not any(target in REJECT_BY for target in chosen):
        form.reject_all.errors = [
            _("To reject their comments, ban by e-mail address or network: a name is no identity.")
        ]
    if not valid or effect is None or form.form_errors or form.reject_all.errors:
        g.ban_form = form
        return render_submission(
            submission, _("The sender was not banned: see the form below."), 400
        )
    done = ban_sender(
        db.session,
        submission,
        chosen,
        (form.reason.data or "").strip(),
        DURATIONS[form.duration.data or "7"],
        current_staff(),
        effect=effect,
        reject_all=reject_all,
    )
    flash(_done_message(effect, done, reject_all), "success" if done.made else "info")
    return redirect(url_for("submissions.show", submission_id=submission_id), code=303)


def _done_message(effect: BanEffect, done: Sanctioned, reject_all: bool) -> str:
    if effect is BanEffect.premoderate:
        if not done.made:
            return _("This sender was already in pre-moderation by that.")
        return _("In pre-moderation: new submissions from this sender will wait for a moderator.")
    if reject_all:
        return ngettext(
            "Banned; %(num)d comment rejected.", "Banned; %(num)d comments rejected.", done.rejected
        )
    if not done.made:
        return _("This sender was already banned by that.")
    return _("Banned: new submissions from this sender will go to Spam.")


@bp.get("/bans")
def index() -> ResponseReturnValue:
    """The sanctions in force, with a "Lift" button each, and the ones that ended (or either)."""
    state = request.args.get("state", "all")
    if state not in STATES:
        abort(400, _("Show all, active or ended bans."))
    active, ended = list_bans(db.session)
    return render_template("bans.html", active=active, ended=ended, state=state)


@bp.post("/bans/<int:ban_id>/lift")
def lift(ban_id: int) -> ResponseReturnValue:
    """Lift a ban."""
    if not LiftForm().validate_on_submit():
        abort(400)
    if lift_ban(db.session, ban_id, current_staff()) is None:
        abort(404)
    flash(_("The ban was lifted."), "success")
    return redirect(url_for(".index"), code=303)
