"""Who may see what: one deny-by-default login guard, and role checks."""

from __future__ import annotations

from flask import Flask, abort, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from core.db import db
from core.enums import Role
from core.models import StaffUser
from core.site_settings import load as load_site_settings

# The only endpoints anyone may reach without logging in. Everything else, including routes
# added later and addresses that match no route, sends a logged-out visitor to the login page.
PUBLIC_ENDPOINTS = frozenset(
    {
        "auth.login",
        "auth.login_code",
        "static",
        "language.switch",
        "health.healthz",
        "unsubscribe.confirm",
        "unsubscribe.unsubscribe",
        "preference_link.preferences",
    }
)
# All a staff member may reach while admins require two-factor login and they have none yet.
TWO_FACTOR_SETUP_ENDPOINTS = frozenset(
    {"two_factor.account", "two_factor.enable", "auth.logout", "static", "language.switch"}
)


def require_login() -> ResponseReturnValue | None:
    """Before every request: let a logged-in, active staff member through, else go to login."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if current_user.is_authenticated and current_user.is_active:
        g.staff = current_user.user
        if request.endpoint not in TWO_FACTOR_SETUP_ENDPOINTS and must_set_up_two_factor(g.staff):
            return redirect(url_for("two_factor.account"), code=303)
        return None
    target = None
    if request.method == "GET":
        target = request.full_path.rstrip("?")
    return redirect(url_for("auth.login", next=target), code=303)


def must_set_up_two_factor(staff: StaffUser) -> bool:
    """Whether admins require two-factor login and `staff` has not set it up yet."""
    # Only those without a second factor pay for reading the setting.
    return not staff.totp_secret and load_site_settings(db.session).require_totp


def init_access(app: Flask) -> None:
    """Install the guard and make the logged-in account available to templates."""
    app.before_request(require_login)
    app.context_processor(lambda: {"staff": g.get("staff")})
    app.jinja_env.globals["has_role"] = has_role


def current_staff() -> StaffUser:
    """The logged-in staff account (the guard guarantees there is one)."""
    staff: StaffUser = g.staff
    return staff


def has_role(role: Role | str) -> bool:
    """Whether someone is logged in with `role` or one above it."""
    staff: StaffUser | None = g.get("staff")
    return staff is not None and staff.has_role(Role(role))


def ensure_role(role: Role) -> None:
    """Refuse the request with a 403 page unless the logged-in account has `role`."""
    if not has_role(role):
        abort(403)
