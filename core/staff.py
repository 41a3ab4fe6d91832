"""Staff accounts: creation, password hashing (Argon2id) and verification."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, object_session

from core import limits, tipkeys
from core.enums import Role
from core.models import StaffUser, TipKeyGrant, UnlockedTipKeys

MIN_PASSWORD_LENGTH = 12

# argon2-cffi's defaults follow RFC 9106's second recommendation (Argon2id, 64 MiB).
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class StaffError(ValueError):
    """A staff account cannot be created or changed as asked; the message says why."""


def normalise_email(email: str) -> str:
    """The form we store and look up: trimmed and lower-cased."""
    return email.strip().lower()


def check_password_strength(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def create_staff_user(session: Session, email: str, password: str, role: Role) -> StaffUser:
    """Add a staff account; the caller commits."""
    email = normalise_email(email)
    if "@" not in email or len(email) > limits.EMAIL_MAX:
        raise StaffError(f"{email!r} is not an e-mail address")
    check_password_strength(password)
    if session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
        raise StaffError(f"a staff account for {email} already exists")
    user = StaffUser(email=email, password_hash=_hasher.hash(password), role=role)
    if role in tipkeys.READERS:
        # Those who may read tips get their personal key now, while the password is at hand,
        # so that the tip key can be granted to them before their first login.
        tipkeys.give_personal_key(user, password)
    session.add(user)
    return user


def set_password(user: StaffUser, password: str, old_password: str | None = None) -> None:
    """Give `user` a new password and end their other sessions; the caller commits.

    Their personal key (core.tipkeys) is wrapped again under the new password when the old one
    is given; otherwise (a reset) it cannot be opened any more and is dropped with their tip
    key grants: they get a new one at their next login, and someone must grant them access.
    """
    check_password_strength(password)
    user.password_hash = _hasher.hash(password)
    user.session_token = secrets.token_hex(16)
    if user.wrapped_private_key is not None and not (
        old_password and tipkeys.rewrap_personal_key(user, old_password, password)
    ):
        user.public_key = user.wrapped_private_key = user.key_salt = None
        session = object_session(user)
        if session is not None and user.id is not None:
            session.execute(delete(TipKeyGrant).where(TipKeyGrant.staff_id == user.id))
            session.execute(delete(UnlockedTipKeys).where(UnlockedTipKeys.staff_id == user.id))


def authenticate(session: Session, email: str, password: str) -> StaffUser | None:
    """The active account with this e-mail and password, or None; upgrades old hashes."""
    user = session.scalar(
        select(StaffUser).where(func.lower(StaffUser.email) == normalise_email(email))
    )
    if user is None or not user.is_active:
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
