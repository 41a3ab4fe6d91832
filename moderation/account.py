"""A staff member's own password: changing it keeps their tip key access.

A reset (`tipline user password` without the old password) cannot open the personal key that
holds an editor's tip keys, so it drops their access. Here the current password is at hand:
core.staff.set_password wraps the personal key again under the new one. Every other session
ends (the account's session token changes); this one is logged in again with the tip keys
unlocked under the new password, so the editor carries on where they were.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask import session as browser_session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user
from flask_wtf import FlaskForm
from sqlalchemy import delete
from sqlalchemy.orm import Session
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from core.db import db, utcnow
from core.models import AuditEvent, StaffUser, UnlockedTipKeys
from core.staff import MIN_PASSWORD_LENGTH, authenticate, set_password
from moderation.access import current_staff
from moderation.auth import StaffLogin, record_failed_login
from moderation.tip_access import SESSION_KEY, start_session, unlock_at_login

bp = Blueprint("account", __name__)

# The audit log's action for a password changed by its owner.
AUDIT_ACTION = "password"
# Longer than any passphrase, short enough that hashing it costs nothing unusual.
PASSWORD_MAX = 1024


class PasswordChangeForm(FlaskForm):
    """The current password, and the new one twice."""

    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password.")), Length(max=PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(_l("Enter a new password.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=PASSWORD_MAX,
                message=_l(
                    "The new password must have at least %(count)d characters.",
                    count=MIN_PASSWORD_LENGTH,
                ),
            ),
        ],
        render_kw={"autocomplete": "new-password", "minlength": str(MIN_PASSWORD_LENGTH)},
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(_l("Type the new password again.")),
            EqualTo("new_password", _l("The two new passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


def change_password(session: Session, user: StaffUser, current: str, new: str) -> None:
    """Give `user` the password `new`, keeping their personal key; audited; commits.

    The caller has checked `current`. Every session of the account ends, and with them every
    copy of the tip keys they unlocked: the caller logs this one in again.
    """
    set_password(user, new, old_password=current)
    # The other sessions cannot log in any more; their unlocked keys must not outlive them.
    session.execute(delete(UnlockedTipKeys).where(UnlockedTipKeys.staff_id == user.id))
    session.add(
        AuditEvent(
            at=utcnow(),
            actor_id=user.id,
            actor_label=user.email,
            action=AUDIT_ACTION,
            reason="changed by themselves",
        )
    )
    session.commit()


@bp.route("/account/password", methods=["GET", "POST"])
def password() -> ResponseReturnValue:
    """Change one's own password; the tip keys stay unlocked in this session."""
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _render(form, 422 if form.errors else 200)
    user = current_staff()
    current, new = form.current_password.data or "", form.new_password.data or ""
    if authenticate(db.session, user.email, current) is not user:
        # Guessing here is guessing a password: audited, and limited, like a login.
        record_failed_login(db.session, user.email, reason="wrong current password")
        form.current_password.errors = [_("That is not your current password.")]
        return _render(form, 422)
    change_password(db.session, user, current, new)
    # The session token changed, so this session must be logged in again, and its tip keys
    # unlocked again with the new password (change_password deleted the old copy).
    unlocked = unlock_at_login(db.session, user, new)
    browser_session.pop(SESSION_KEY, None)
    login_user(StaffLogin(user))
    start_session(unlocked)
    flash(_("Your password is changed. Your other sessions have ended."), "success")
    return redirect(url_for(".password"), code=303)


def _render(form: PasswordChangeForm, code: int) -> ResponseReturnValue:
    return render_template("account_password.html", form=form, min_length=MIN_PASSWORD_LENGTH), code
