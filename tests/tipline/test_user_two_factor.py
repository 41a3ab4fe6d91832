"""`tipline user reset-two-factor`: the way back in for an admin who lost their phone."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Settings
from core.enums import Role
from core.models import AuditEvent, StaffUser
from core.staff import create_staff_user
from tests.support import settings_env
from tipline.cli import cli


def test_reset_two_factor_removes_the_secret_and_is_audited(
    settings: Settings, session: Session
) -> None:
    user = create_staff_user(session, "ana@example.org", "correct horse battery", Role.admin)
    user.totp_secret, user.totp_last_step = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", 12345
    session.commit()
    env = settings_env(settings)

    result = CliRunner().invoke(cli, ["user", "reset-two-factor", "ANA@example.org"], env=env)
    assert result.exit_code == 0, result.output
    assert "Two-factor login removed for ana@example.org." in result.output
    session.expire_all()
    assert session.scalars(select(StaffUser.totp_secret)).one() is None
    audit = session.execute(select(AuditEvent.actor_label, AuditEvent.reason)).tuples().all()
    session.rollback()  # SQLite: end the read transaction, which holds the write lock
    assert audit == [("cli", "ana@example.org: two-factor login reset")]

    again = CliRunner().invoke(cli, ["user", "reset-two-factor", "ana@example.org"], env=env)
    assert "ana@example.org has no two-factor login." in again.output
    missing = CliRunner().invoke(cli, ["user", "reset-two-factor", "x@example.org"], env=env)
    assert missing.exit_code == 1 and "no staff account for x@example.org" in missing.output
