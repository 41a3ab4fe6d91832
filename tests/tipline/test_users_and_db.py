"""`tipline user ...` and `tipline db ...` as an operator types them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import make_engine
from core.enums import Role
from core.models import StaffUser
from core.staff import authenticate, create_staff_user
from tests.support import settings_env
from tipline.cli import cli

PASSWORD = "correct horse battery"


def _run(settings: Settings, args: list[str], typed: str = "") -> Result:
    result = CliRunner().invoke(cli, args, input=typed, env=settings_env(settings))
    # Errors end in a message and exit code 1, never in a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


def test_user_create_asks_for_the_password_twice_without_showing_it(
    settings: Settings, session: Session
) -> None:
    result = _run(
        settings,
        ["user", "create", "--role", "moderator", "Ana@Example.org"],
        f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Repeat for confirmation" in result.output
    assert PASSWORD not in result.output
    assert "Created moderator ana@example.org" in result.output
    user = authenticate(session, "ana@example.org", PASSWORD)
    assert user is not None and user.role is Role.moderator


def test_user_create_asks_again_when_the_two_passwords_differ(
    settings: Settings, session: Session
) -> None:
    typed = f"{PASSWORD}\nsomething else entirely\n{PASSWORD}\n{PASSWORD}\n"
    result = _run(settings, ["user", "create", "--role", "editor", "eva@example.org"], typed)
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert authenticate(session, "eva@example.org", PASSWORD) is not None


def test_user_create_refuses_a_short_password(settings: Settings, session: Session) -> None:
    result = _run(
        settings, ["user", "create", "--role", "admin", "ana@example.org"], "short\nshort\n"
    )
    assert result.exit_code == 1
    assert "Error: the password must have at least 12 characters" in result.output
    assert session.scalars(select(StaffUser)).all() == []


def test_user_create_refuses_a_duplicate_before_asking_for_a_password(
    settings: Settings, session: Session
) -> None:
    create_staff_user(session, "ana@example.org", PASSWORD, Role.moderator)
    session.commit()
    result = _run(settings, ["user", "create", "--role", "admin", "ANA@example.org"])
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert "Password" not in result.output
    session.expire_all()
    assert session.scalars(select(StaffUser.role)).all() == [Role.moderator]


def test_user_create_refuses_an_unknown_role(settings: Settings) -> None:
    result = _run(settings, ["user", "create", "--role", "owner", "ana@example.org"])
    assert result.exit_code == 2
    assert "'owner' is not one of" in result.output


def test_user_password_sets_a_new_one_and_ends_sessions(
    settings: Settings, session: Session
) -> None:
    user = create_staff_user(session, "ana@example.org", PASSWORD, Role.editor)
    session.commit()
    old_token = user.session_token
    new = "a brand new passphrase"
    result = _run(settings, ["user", "password", "ana@example.org"], f"{new}\n{new}\n")
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert authenticate(session, "ana@example.org", PASSWORD) is None
    assert authenticate(session, "ana@example.org", new) is not None
    assert session.scalars(select(StaffUser.session_token)).one() != old_token
    session.rollback()  # SQLite: end the read transaction, which holds the write lock

    missing = _run(settings, ["user", "password", "nobody@example.org"])
    assert missing.exit_code == 1
    assert "no staff account for nobody@example.org" in missing.output


def test_user_list_shows_accounts_and_roles(settings: Settings, session: Session) -> None:
    assert "No staff accounts yet" in _run(settings, ["user", "list"]).output
    create_staff_user(session, "mo@example.org", PASSWORD, Role.moderator)
    create_staff_user(session, "ad@example.org", PASSWORD, Role.admin)
    session.commit()
    lines = _run(settings, ["user", "list"]).output.splitlines()
    assert [line.split()[:3] for line in lines] == [
        ["ad@example.org", "admin", "active"],
        ["mo@example.org", "moderator", "active"],
    ]


@pytest.fixture
def empty_sqlite(tmp_path: Path) -> Settings:
    """Settings for a SQLite database that does not exist yet."""
    return Settings.from_env(
        {
            "TIPLINE_INSTANCE_PATH": str(tmp_path / "instance"),
            "TIPLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        }
    )


def test_db_upgrade_creates_the_schema_and_current_reports_it(empty_sqlite: Settings) -> None:
    before = _run(empty_sqlite, ["db", "current", "--check"])
    assert before.exit_code == 1
    assert "none (empty database)" in before.output
    assert "tipline db upgrade" in before.output

    upgraded = _run(empty_sqlite, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    engine = make_engine(empty_sqlite.database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"articles", "submissions", "check_results", "staff_users", "audit_events"} <= tables

    after = _run(empty_sqlite, ["db", "current", "--check"])
    assert after.exit_code == 0
    assert "Run `tipline db upgrade`" not in after.output
    # Upgrading an up-to-date database changes nothing and succeeds.
    assert _run(empty_sqlite, ["db", "upgrade"]).exit_code == 0


def test_commands_on_an_unmigrated_database_say_what_to_do(empty_sqlite: Settings) -> None:
    result = _run(empty_sqlite, ["user", "create", "--role", "admin", "ana@example.org"])
    assert result.exit_code == 1
    assert "Error: database error" in result.output
    assert "tipline db upgrade" in result.output


def test_a_malformed_setting_is_a_message_not_a_traceback(empty_sqlite: Settings) -> None:
    env = {**settings_env(empty_sqlite), "TIPLINE_HASH_KEY": "not hex"}
    result = CliRunner().invoke(cli, ["user", "list"], env=env)
    assert result.exit_code == 1
    assert "Error: TIPLINE_HASH_KEY must be hexadecimal" in result.output
