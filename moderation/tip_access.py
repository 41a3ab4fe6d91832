"""The tip keys of the logged-in editor: unlocked at login, found again on each request.

core.tipkeys holds the scheme; this module ties it to the staff site's login session. The
session cookie carries only the random secret that opens the stored, encrypted copy.
"""

from __future__ import annotations

from flask import g
from flask import session as browser_session
from sqlalchemy.orm import Session

from core import tipkeys
from core.models import StaffUser

# The browser session's entry holding the secret (hex) that opens this login's tip keys.
SESSION_KEY = "tip_keys"


def unlock_at_login(session: Session, user: StaffUser, password: str) -> str | None:
    """At a login with the right password: the secret of the unlocked tip keys, if any.

    An editor or admin without a personal key gets one now (the password is at hand only
    here); they hold no tip key until someone grants it (`tipline tips grant`).
    """
    if user.role not in tipkeys.READERS:
        return None
    if user.public_key is None:
        tipkeys.give_personal_key(user, password)
        session.commit()
        return None
    keys = tipkeys.unlock(session, user, password)
    if not keys:
        return None
    return tipkeys.store_unlocked(session, user, keys)


def start_session(secret: str | None) -> None:
    """Put the secret of the unlocked keys into the (fresh) login session."""
    if secret:
        browser_session[SESSION_KEY] = secret


def current_tip_keys(session: Session, user: StaffUser) -> dict[int, bytes] | None:
    """The tip keys this login unlocked, by id; None if it unlocked none (or they expired)."""
    if "tip_keys" in g:
        cached: dict[int, bytes] | None = g.tip_keys
        return cached
    secret = browser_session.get(SESSION_KEY)
    keys = tipkeys.load_unlocked(session, user.id, secret) if isinstance(secret, str) else None
    g.tip_keys = keys
    return keys


def end_session(session: Session) -> None:
    """At logout: delete this login's unlocked keys."""
    secret = browser_session.get(SESSION_KEY)
    if isinstance(secret, str):
        tipkeys.forget_unlocked(session, secret)
