"""`tipline user password EMAIL`: with the current password, an editor keeps the tip key."""

from __future__ import annotations

from click.testing import CliRunner, Result
from sqlalchemy.orm import Session

from core import tipkeys
from core.config import Settings
from core.staff import authenticate
from tests.support import settings_env
from tests.support_tips import EDITOR_PASSWORD, make_editor_with_tip_key
from tipline.cli import cli

NEW = "a brand new passphrase"
ENDED = "Their tip key access ended"


def _run(settings: Settings, typed: str) -> Result:
    args = ["user", "password", "editor@example.org"]
    result = CliRunner().invoke(cli, args, input=typed, env=settings_env(settings))
    assert "Traceback" not in result.output
    return result


def _keys(session: Session, password: str) -> dict[int, bytes]:
    session.expire_all()
    user = authenticate(session, "editor@example.org", password)
    keys = tipkeys.unlock(session, user, password) if user is not None else {}
    session.rollback()  # SQLite: end the read transaction, which holds the write lock
    return keys


def test_with_the_current_password_the_tip_key_is_kept(
    settings: Settings, session: Session
) -> None:
    make_editor_with_tip_key(session)
    expected = _keys(session, EDITOR_PASSWORD)
    assert expected
    result = _run(settings, f"{EDITOR_PASSWORD}\n{NEW}\n{NEW}\n")
    assert result.exit_code == 0, result.output
    assert "Current password (leave empty if unknown" in result.output
    assert "Their tip key access is kept" in result.output
    assert ENDED not in result.output
    assert EDITOR_PASSWORD not in result.output and NEW not in result.output
    assert _keys(session, NEW) == expected
    assert _keys(session, EDITOR_PASSWORD) == {}


def test_without_it_the_access_ends_and_says_so(settings: Settings, session: Session) -> None:
    make_editor_with_tip_key(session)
    session.rollback()
    result = _run(settings, f"\n{NEW}\n{NEW}\n")
    assert result.exit_code == 0, result.output
    assert ENDED in result.output
    assert _keys(session, NEW) == {}


def test_a_wrong_current_password_changes_nothing(settings: Settings, session: Session) -> None:
    make_editor_with_tip_key(session)
    expected = _keys(session, EDITOR_PASSWORD)
    result = _run(settings, "not the password at all\n")
    assert result.exit_code == 1
    assert "that is not their current password: nothing was changed" in result.output
    assert _keys(session, EDITOR_PASSWORD) == expected
