"""`tipline tips`: the newsroom's tip key — set it up, grant it, withdraw it, rotate it.

Every command that needs a tip key's private half asks for the password of someone who holds
it (`--as EMAIL`): the key exists nowhere else. See core/tipkeys.py and docs/security.md.
"""

from __future__ import annotations

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tipkeys
from core.config import Settings
from core.db import make_engine, session_scope
from core.models import AuditEvent, StaffUser
from core.staff import authenticate
from tipline.database import find_staff_user

# The audit log's actions for key changes.
KEY_ACTION = "tip_key"


@click.group("tips")
def tips() -> None:
    """The tip key: who can read tips."""


def _account(session: Session, email: str) -> StaffUser:
    account = find_staff_user(session, email)
    if account is None:
        raise click.ClickException(f"there is no staff account for {email.strip().lower()}")
    return account


def _password_of(session: Session, account: StaffUser) -> str:
    password: str = click.prompt(f"Password of {account.email}", hide_input=True)
    if authenticate(session, account.email, password) is None:
        raise click.ClickException("wrong password (or the account is deactivated)")
    return password


def _audit(session: Session, actor: StaffUser, reason: str) -> None:
    session.add(
        AuditEvent(actor_id=actor.id, actor_label=actor.email, action=KEY_ACTION, reason=reason)
    )
    session.commit()


@tips.command("setup")
@click.option("--as", "as_email", required=True, help="The editor or admin who will hold it.")
@click.option(
    "--import-secrets-key",
    is_flag=True,
    help="Adopt the tip key `tipline init` generated (TIPLINE_TIP_PRIVATE_KEY or secrets.json), "
    "so that tips sealed to it stay readable.",
)
def setup_command(as_email: str, import_secrets_key: bool) -> None:
    """Create the newsroom's tip key, held by one editor or admin; tips open from then on."""
    settings = Settings.from_env()
    private = None
    if import_secrets_key:
        # TIPLINE_TIP_PRIVATE_KEY, or tip_private_key in secrets.json (core.config's order).
        private = settings.tip_private_key or None
        if not private:
            raise click.ClickException(
                "no tip private key to import: neither TIPLINE_TIP_PRIVATE_KEY nor "
                "tip_private_key in secrets.json is set"
            )
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            account = _account(session, as_email)
            password = _password_of(session, account)
            try:
                key = tipkeys.set_up(session, account, password, private_key=private)
            except tipkeys.TipKeyError as exc:
                raise click.ClickException(str(exc)) from None
            _audit(session, account, f"tip key {key.id} set up, held by {account.email}")
            click.echo(f"Tip key {key.id} is set up; {account.email} holds it.")
            click.echo("Grant it to other editors with `tipline tips grant EMAIL --as ...`.")
    finally:
        engine.dispose()


@tips.command("grant")
@click.argument("email")
@click.option("--as", "as_email", required=True, help="An editor or admin who holds the key.")
def grant_command(email: str, as_email: str) -> None:
    """Let an editor or admin read tips (they must have logged in once)."""
    engine = make_engine(Settings.from_env().database_url)
    try:
        with session_scope(engine) as session:
            grantee = _account(session, email)
            granter = _account(session, as_email)
            password = _password_of(session, granter)
            try:
                tipkeys.grant(session, granter, password, grantee)
            except tipkeys.TipKeyError as exc:
                raise click.ClickException(str(exc)) from None
            _audit(session, granter, f"tip key granted to {grantee.email}")
            click.echo(f"{grantee.email} can read tips from their next login.")
    finally:
        engine.dispose()


@tips.command("withdraw")
@click.argument("email")
def withdraw_command(email: str) -> None:
    """Take tip access from someone now; rotate afterwards so that nothing they saw opens."""
    engine = make_engine(Settings.from_env().database_url)
    try:
        with session_scope(engine) as session:
            account = _account(session, email)
            removed = tipkeys.withdraw(session, account)
            session.add(
                AuditEvent(
                    actor_id=None,
                    actor_label="cli",
                    action=KEY_ACTION,
                    reason=f"tip key withdrawn from {account.email}",
                )
            )
            session.commit()
            click.echo(f"Withdrew {removed} key grant(s) from {account.email}; their sessions")
            click.echo("can no longer open tips. Now run `tipline tips rotate --as ...`: a key")
            click.echo("they may have copied must not open what is stored.")
    finally:
        engine.dispose()


@tips.command("rotate")
@click.option("--as", "as_email", required=True, help="An editor or admin who holds the key.")
def rotate_command(as_email: str) -> None:
    """Replace the tip key: seal everything again to a new one and retire the old."""
    engine = make_engine(Settings.from_env().database_url)
    try:
        with session_scope(engine) as session:
            holder = _account(session, as_email)
            password = _password_of(session, holder)
            try:
                rotation = tipkeys.rotate(session, holder, password)
            except tipkeys.TipKeyError as exc:
                raise click.ClickException(str(exc)) from None
            _audit(
                session,
                holder,
                f"tip key rotated to {rotation.key.id}; {rotation.resealed} item(s) resealed",
            )
            click.echo(
                f"New tip key {rotation.key.id}: {rotation.resealed} item(s) sealed again; "
                f"held by {', '.join(rotation.granted_to)}. Everyone logs in again."
            )
    finally:
        engine.dispose()


@tips.command("holders")
def holders_command() -> None:
    """Who can read tips, and which editors and admins cannot."""
    engine = make_engine(Settings.from_env().database_url)
    try:
        with session_scope(engine) as session:
            key = tipkeys.current_key(session)
            if key is None:
                click.echo("No tip key yet: run `tipline tips setup --as EMAIL`.")
                return
            click.echo(f"Tip key {key.id}, created {key.created_at:%Y-%m-%d %H:%M UTC}:")
            for user in tipkeys.holders(session):
                click.echo(f"  {user.email} ({user.role.value})")
            everyone = list(session.scalars(select(StaffUser).order_by(StaffUser.email)))
            missing = tipkeys.readers_without_access(session, everyone)
            if missing:
                click.echo("Editors and admins without access:")
                for user in missing:
                    click.echo(f"  {user.email} ({user.role.value})")
    finally:
        engine.dispose()
