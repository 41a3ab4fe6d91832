"""Test helpers for tips: an editor who holds the newsroom's tip key."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import tipkeys
from core.enums import Role
from core.models import StaffUser
from core.staff import create_staff_user

EDITOR_PASSWORD = "editor-password-1234"


def make_editor_with_tip_key(
    session: Session,
    email: str = "editor@example.org",
    password: str = EDITOR_PASSWORD,
    role: Role = Role.editor,
    private_key: bytes | None = None,
) -> StaffUser:
    """An editor (committed) holding the tip key.

    The key is made now, or `private_key` (e.g. the test settings' `tip_private_key`, which the
    public site registers when it stores a tip before any key exists) is adopted.
    """
    user = create_staff_user(session, email, password, role)
    session.commit()
    if private_key is not None:
        tipkeys.adopt(session, user, password, private_key)
    elif tipkeys.current_key(session) is None:
        tipkeys.set_up(session, user, password)
    else:
        raise AssertionError("a tip key exists: pass its private_key, or grant it")
    return user


def grant_tip_key(
    session: Session, granter: StaffUser, granter_password: str, grantee: StaffUser, password: str
) -> None:
    """Give `grantee` (with `password`) a personal key and the tip keys `granter` holds."""
    if grantee.public_key is None:
        tipkeys.give_personal_key(grantee, password)
        session.commit()
    tipkeys.grant(session, granter, granter_password, grantee)
