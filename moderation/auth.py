"""Staff login and logout: Flask-Login sessions, an audit row per attempt, a rate limit."""

from __future__ import annotations

import hmac

from flask import (
    Blueprint,
    Flask,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as browser_session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.app import current_settings
from core.config import Settings
from core.db import db, utcnow
from core.models import AuditEvent, StaffUser
from core.privacy import keyed_hash
from core.ratelimit import RateLimit, client_key, limit_posts
from core.staff import authenticate, normalise_email
from core.transitions import UNKNOWN_ACCOUNT
from core.urls import local_path
from moderation.forms import LoginForm
from moderation.tip_access import end_session, start_session, unlock_at_login
from moderation.two_factor import (
    CODE_ENDPOINTS,
    PENDING_KEY,
    PENDING_TRIES,
    CodeForm,
    accept_code,
    pending_login,
    start_second_step,
)

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
# Our own guard (moderation.access) decides who may see what; Flask-Login only keeps sessions.
login_manager.session_protection = None


class StaffLogin:
    """A staff account as Flask-Login sees it."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, user: StaffUser) -> None:
        self.user = user

    @property
    def is_active(self) -> bool:
        """Deactivated accounts cannot log in, and their sessions end."""
        return self.user.is_active

    def get_id(self) -> str:
        """The id kept in the session: changing the account's token ends every session."""
        return f"{self.user.id}:{self.user.session_token}"


@login_manager.user_loader
def load_user(session_id: str) -> StaffLogin | None:
    """The logged-in account for a session id, if it is still valid and active."""
    user_id, _sep, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(StaffUser, int(user_id))
    if user is None or not user.is_active:
        return None
    if not hmac.compare_digest(user.session_token.encode(), token.encode()):
        return None
    return StaffLogin(user)


def _session_identifier() -> str:
    # Flask-Login puts a hash of the client's address and browser in the session cookie; an
    # unkeyed hash of an IPv4 address is easy to reverse, so ours is keyed like every other.
    settings = current_settings()
    agent = request.headers.get("User-Agent", "")
    return keyed_hash(settings.hash_key, "session", f"{client_key()}|{agent}")


login_manager._session_identifier_generator = _session_identifier


def init_auth(app: Flask, settings: Settings) -> None:
    """Attach Flask-Login and the login rate limit to `app`."""
    login_manager.init_app(app, add_context_processor=False)
    # Only the login POSTs (and the password change's check of the current one) are limited:
    # the password and two-factor codes are what a guesser sends (one budget for all, so that
    # guessing codes is no cheaper than passwords).
    limit_posts(
        app,
        RateLimit(
            settings.login_rate_limit,
            settings.ratelimit_storage_url,
            settings.ratelimit_prefix,
            scope="login",
            setting="TIPLINE_LOGIN_RATE_LIMIT",
        ),
        applies=lambda: request.endpoint in {"auth.login", "account.password", *CODE_ENDPOINTS},
    )


def record_login(session: Session, user: StaffUser, second_factor: bool = False) -> None:
    """Note a successful login on the account and in the audit log; commit."""
    now = utcnow()
    user.last_login_at = now
    how = "password and two-factor code" if second_factor else "password only"
    session.add(
        AuditEvent(at=now, actor_id=user.id, actor_label=user.email, action="login", reason=how)
    )
    session.commit()


def record_failed_login(session: Session, email: str, reason: str = "") -> None:
    """Audit a failed login under the account that was tried (no address is kept); commit.

    What was typed is kept only when it names an account: otherwise it may be a password typed
    into the wrong field, which must not end up in a log.
    """
    session.rollback()  # nothing from the failed attempt may be committed with the audit row
    tried = normalise_email(email)
    account = session.scalar(select(StaffUser).where(StaffUser.email == tried))
    session.add(
        AuditEvent(
            actor_id=account.id if account else None,
            actor_label=account.email if account else UNKNOWN_ACCOUNT,
            action="login_failed",
            reason=reason,
        )
    )
    session.commit()


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The login form; on success, go where the user was headed."""
    if current_user.is_authenticated:
        return redirect(_landing(), code=303)
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        email, password = form.email.data or "", form.password.data or ""
        user = authenticate(db.session, email, password)
        if user is not None and user.totp_secret:
            # The password was right; the session starts only once the code is too. The tip
            # keys are unlocked now (the password is not kept), but their secret only joins
            # the login session after the code is accepted.
            db.session.commit()  # keeps an upgraded password hash
            unlocked = unlock_at_login(db.session, user, password)
            browser_session.clear()
            start_second_step(user)
            if unlocked:
                browser_session[PENDING_KEY] = {**browser_session[PENDING_KEY], "keys": unlocked}
            return redirect(url_for("auth.login_code", next=request.args.get("next")), 303)
        if user is not None:
            db.session.commit()  # keeps an upgraded password hash
            unlocked = unlock_at_login(db.session, user, password)
            # A fresh session: nothing from before the login carries over into it.
            browser_session.clear()
            login_user(StaffLogin(user))
            start_session(unlocked)
            record_login(db.session, user)
            return redirect(_landing(), code=303)
        record_failed_login(db.session, email)
        failed = True
    return render_template("login.html", form=form, failed=failed)


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> ResponseReturnValue:
    """The login's second step: the code from the authenticator app."""
    pending = pending_login(db.session)
    if pending is None:
        browser_session.pop(PENDING_KEY, None)
        flash(_("Log in again: the time to enter a code ran out."), "info")
        return redirect(url_for("auth.login", next=request.args.get("next")), code=303)
    form = CodeForm()
    failed = False
    if form.validate_on_submit():
        user = pending.user
        if accept_code(user, form.digits()):
            unlocked = browser_session.get(PENDING_KEY, {}).get("keys")
            browser_session.clear()
            login_user(StaffLogin(user))
            start_session(unlocked if isinstance(unlocked, str) else None)
            record_login(db.session, user, second_factor=True)
            return redirect(_landing(), code=303)
        record_failed_login(db.session, user.email, reason="wrong or reused two-factor code")
        tries = pending.tries + 1
        if tries >= PENDING_TRIES:
            browser_session.pop(PENDING_KEY, None)
            flash(_("Too many wrong codes: log in again."), "error")
            return redirect(url_for("auth.login"), code=303)
        browser_session[PENDING_KEY] = {**browser_session[PENDING_KEY], "tries": tries}
        failed = True
    return render_template("login_code.html", form=form, failed=failed), 422 if failed else 200


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session, and delete the tip keys it unlocked."""
    end_session(db.session)
    logout_user()
    browser_session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"), code=303)


def _landing() -> str:
    return local_path(request.args.get("next")) or url_for("submissions.index")
