"""Staff accounts: Argon2id hashes, strength, authentication."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from core.enums import Role
from core.staff import StaffError, authenticate, create_staff_user


def test_password_is_stored_as_argon2id_and_authenticates(session: Session) -> None:
    user = create_staff_user(session, " Ana@Example.org", "correct horse battery", Role.editor)
    session.commit()
    assert user.email == "ana@example.org"
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash
    assert authenticate(session, "ANA@example.org", "correct horse battery") == user
    assert authenticate(session, "ana@example.org", "wrong password here") is None
    assert authenticate(session, "nobody@example.org", "correct horse battery") is None


def test_short_passwords_and_duplicates_are_refused(session: Session) -> None:
    with pytest.raises(StaffError, match="at least 12"):
        create_staff_user(session, "ana@example.org", "short", Role.moderator)
    create_staff_user(session, "ana@example.org", "correct horse battery", Role.moderator)
    session.commit()
    with pytest.raises(StaffError, match="already exists"):
        create_staff_user(session, "ANA@example.org", "correct horse battery", Role.admin)


def test_roles_include_the_ones_below(session: Session) -> None:
    admin = create_staff_user(session, "a@example.org", "correct horse battery", Role.admin)
    mod = create_staff_user(session, "m@example.org", "correct horse battery", Role.moderator)
    assert admin.has_role(Role.editor) and admin.has_role(Role.moderator)
    assert not mod.has_role(Role.editor)
