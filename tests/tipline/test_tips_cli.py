"""`tipline tips`: set up, grant, withdraw and rotate the tip key from the command line."""

from __future__ import annotations

from click.testing import CliRunner
from nacl.public import PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tipkeys
from core.config import Settings
from core.enums import Role
from core.models import AuditEvent, TipKey
from core.staff import create_staff_user
from tests.support import settings_env
from tipline.cli import cli

ANA, LUIS = "ana@example.org", "luis@example.org"
ANA_PASSWORD, LUIS_PASSWORD = "ana-password-12345", "luis-password-1234"


def _run(settings: Settings, *args: str, password: str = "") -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["tips", *args], env=settings_env(settings), input=f"{password}\n"
    )
    return result.exit_code, result.output


def _staff(session: Session) -> None:
    create_staff_user(session, ANA, ANA_PASSWORD, Role.admin)
    create_staff_user(session, LUIS, LUIS_PASSWORD, Role.editor)
    session.commit()


def test_setup_grant_withdraw_rotate(settings: Settings, session: Session) -> None:
    _staff(session)
    code, output = _run(settings, "holders")
    assert "No tip key yet" in output

    code, output = _run(settings, "setup", "--as", ANA, password="wrong password")
    assert code == 1 and "wrong password" in output
    code, output = _run(settings, "setup", "--as", ANA, password=ANA_PASSWORD)
    assert code == 0, output
    assert f"{ANA} holds it" in output

    code, output = _run(settings, "grant", LUIS, "--as", ANA, password=ANA_PASSWORD)
    assert code == 0, output
    session.expire_all()
    code, output = _run(settings, "holders")
    assert ANA in output and LUIS in output and "without access" not in output

    code, output = _run(settings, "withdraw", LUIS)
    assert code == 0 and "Withdrew 1 key grant(s)" in output and "rotate" in output
    code, output = _run(settings, "rotate", "--as", ANA, password=ANA_PASSWORD)
    assert code == 0, output
    assert f"held by {ANA}" in output

    session.expire_all()
    luis = tipkeys.holders(session)
    assert [user.email for user in luis] == [ANA]
    keys = session.scalars(select(TipKey).order_by(TipKey.id)).all()
    assert len(keys) == 2 and keys[0].retired_at is not None and keys[1].retired_at is None
    reasons = session.scalars(select(AuditEvent.reason).where(AuditEvent.action == "tip_key"))
    assert len(list(reasons)) == 4
    session.commit()


def test_setup_can_adopt_the_key_tipline_init_made(settings: Settings, session: Session) -> None:
    _staff(session)
    pair = PrivateKey.generate()
    with_key = settings.with_overrides(tip_private_key=bytes(pair))
    args = ("setup", "--as", ANA, "--import-secrets-key")
    code, output = _run(with_key, *args, password=ANA_PASSWORD)
    assert code == 0, output
    key = tipkeys.current_key(session)
    assert key is not None and key.public_key == bytes(pair.public_key)
    session.commit()

    none = settings.with_overrides(tip_private_key=b"")
    code, output = _run(none, *args, password=ANA_PASSWORD)
    assert code == 1 and "no tip private key to import" in output


def test_a_moderator_cannot_be_granted_and_unknown_accounts_are_named(
    settings: Settings, session: Session
) -> None:
    _staff(session)
    create_staff_user(session, "mod@example.org", "mod-password-1234", Role.moderator)
    session.commit()
    _run(settings, "setup", "--as", ANA, password=ANA_PASSWORD)
    code, output = _run(settings, "grant", "mod@example.org", "--as", ANA, password=ANA_PASSWORD)
    assert code == 1 and "not an active editor or admin" in output
    code, output = _run(settings, "grant", "nobody@example.org", "--as", ANA)
    assert code == 1 and "no staff account for nobody@example.org" in output
