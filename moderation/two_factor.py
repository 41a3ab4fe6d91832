"""Two-factor login (TOTP, RFC 6238): the codes' rules, setting it up and turning it off.

A staff member adds an authenticator app from /account/two-factor: the page shows a new secret
(as text and as an otpauth:// link) and stores it only once a code from the app confirms it.
From then on a correct password leads to a second step that asks for the 6-digit code
(moderation.auth.login_code). A code is accepted one 30-second step early or late (clocks
drift), and never twice: the last step accepted is kept on the account. When admins require
two-factor login for everyone, a staff member without it can reach nothing but the set-up
page (see moderation.access).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

import pyotp
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask import session as browser_session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import StringField
from wtforms.validators import DataRequired, Regexp

from core.app import current_settings
from core.db import db, utcnow
from core.models import AuditEvent, StaffUser
from core.site_settings import load as load_site_settings
from core.urls import local_path
from moderation.access import current_staff

bp = Blueprint("two_factor", __name__)

# The audit log's action for turning two-factor login on or off.
TWO_FACTOR_ACTION = "two_factor"
STEP_SECONDS = 30
# Codes one step either side of now are accepted: phones' clocks drift.
VALID_WINDOW = 1
# How long the second step waits for a code after the password, and how many wrong codes it
# takes before the password must be typed again.
PENDING_SECONDS = 300
PENDING_TRIES = 5
# Keys in the browser's (signed) session.
PENDING_KEY = "totp_pending"
SETUP_KEY = "totp_setup_secret"
# The endpoints that ask for a code: rate-limited like the password (see moderation.auth).
CODE_ENDPOINTS = frozenset({"auth.login_code", "two_factor.enable", "two_factor.disable"})


class CodeForm(FlaskForm):
    """A 6-digit code from the authenticator app."""

    code = StringField(
        _l("Code from your authenticator app"),
        validators=[
            DataRequired(_l("Enter the 6-digit code.")),
            Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("The code has 6 digits.")),
        ],
        render_kw={
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "maxlength": "7",
            "autocapitalize": "none",
        },
    )

    def digits(self) -> str:
        """The code without spaces."""
        return "".join((self.code.data or "").split())


# --- the rules -----------------------------------------------------------------------------


def new_secret() -> str:
    """A new random TOTP secret (base32, 160 bits as RFC 4226 recommends)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    """The otpauth:// link an authenticator app reads (as a QR code or pasted)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code `code` is (within VALID_WINDOW of now), or None."""
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def accept_code(user: StaffUser, code: str, now: float | None = None) -> bool:
    """Whether `code` is a fresh code of `user`'s secret; if so it can never be used again.

    The caller commits (the step accepted is kept on the account).
    """
    if not user.totp_secret:
        return False
    step = matching_step(user.totp_secret, code, now)
    if step is None:
        return False
    # A code seen once (here or in a later step) may have been seen by someone else too.
    if user.totp_last_step is not None and step <= user.totp_last_step:
        return False
    user.totp_last_step = step
    return True


def enable(session: Session, user: StaffUser, secret: str, code: str) -> bool:
    """Store `secret` on `user` if `code` confirms it; audited; commits. False if it did not."""
    step = matching_step(secret, code)
    if step is None:
        return False
    user.totp_secret, user.totp_last_step = secret, step
    _audit(session, user, user, "enabled")
    session.commit()
    return True


def disable(session: Session, user: StaffUser, actor: StaffUser, note: str = "disabled") -> None:
    """Remove `user`'s second factor (by themselves or, `note` says, an admin); commits."""
    user.totp_secret, user.totp_last_step = None, None
    _audit(session, actor, user, note)
    session.commit()


def _audit(session: Session, actor: StaffUser, user: StaffUser, what: str) -> None:
    session.add(
        AuditEvent(
            at=utcnow(),
            actor_id=actor.id,
            actor_label=actor.email,
            action=TWO_FACTOR_ACTION,
            reason=f"{user.email}: {what}",
        )
    )


@dataclass(frozen=True)
class Pending:
    """A login whose password was right, waiting for its code."""

    user: StaffUser
    tries: int


def start_second_step(user: StaffUser) -> None:
    """Remember, in the browser's session, whose password was right and when."""
    browser_session[PENDING_KEY] = {
        "id": user.id,
        "token": user.session_token,
        "at": time.time(),
        "tries": 0,
    }


def pending_login(session: Session) -> Pending | None:
    """The login waiting for a code, if it is recent and the account unchanged since."""
    pending = browser_session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    user = session.get(StaffUser, int(pending.get("id", 0)))
    if user is None or not user.is_active or not user.totp_secret:
        return None
    # A new password or a deactivation since the password was typed ends the attempt.
    if not hmac.compare_digest(user.session_token, str(pending.get("token", ""))):
        return None
    return Pending(user, int(pending.get("tries", 0)))


# --- the pages -----------------------------------------------------------------------------


@bp.get("/account/two-factor")
def account() -> ResponseReturnValue:
    """Two-factor login for the logged-in staff member: set it up, or turn it off."""
    return _render_account(CodeForm(formdata=None))


@bp.post("/account/two-factor/enable", endpoint="enable")
def enable_view() -> ResponseReturnValue:
    """Confirm the new secret with a code from the app, and store it."""
    user = current_staff()
    form = CodeForm()
    secret = browser_session.get(SETUP_KEY)
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _render_account(form, code=422)
    if user.totp_secret:
        flash(_("Two-factor login is already on."), "info")
        return redirect(url_for(".account"), code=303)
    if not isinstance(secret, str) or not enable(db.session, user, secret, form.digits()):
        form.code.errors = [_("That code does not match: check the app's clock and try again.")]
        return _render_account(form, code=422)
    browser_session.pop(SETUP_KEY, None)
    flash(_("Two-factor login is on: you will be asked for a code when you log in."), "success")
    return redirect(local_path(request.args.get("next")) or url_for("submissions.index"), 303)


@bp.post("/account/two-factor/disable", endpoint="disable")
def disable_view() -> ResponseReturnValue:
    """Turn two-factor login off, with a current code (not when admins require it)."""
    user = current_staff()
    form = CodeForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _render_account(form, code=422)
    if not user.totp_secret:
        return redirect(url_for(".account"), code=303)
    if load_site_settings(db.session).require_totp:
        form.code.errors = [_("Admins require two-factor login: it cannot be turned off.")]
        return _render_account(form, code=403)
    if not accept_code(user, form.digits()):
        db.session.rollback()
        form.code.errors = [_("That code is wrong or was already used.")]
        return _render_account(form, code=422)
    disable(db.session, user, user)
    flash(_("Two-factor login is off."), "success")
    return redirect(url_for(".account"), code=303)


def _render_account(form: CodeForm, code: int = 200) -> ResponseReturnValue:
    user = current_staff()
    secret = uri = None
    if not user.totp_secret:
        # The same secret until it is confirmed, so that a reload does not break the app's copy.
        secret = browser_session.get(SETUP_KEY)
        if not isinstance(secret, str):
            secret = browser_session[SETUP_KEY] = new_secret()
        uri = provisioning_uri(secret, user.email, current_settings().site_name)
    required = load_site_settings(db.session).require_totp
    db.session.rollback()
    body = render_template(
        "two_factor.html",
        form=form,
        enabled=bool(user.totp_secret),
        required=required,
        secret=secret,
        grouped=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) if secret else "",
        uri=uri,
    )
    return body, code
