"""The `tipline` command: init, db, user and standalone. Each command parses and delegates."""

from __future__ import annotations

import sys
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core import tipkeys
from core.config import ConfigError, Settings
from core.db import make_engine, session_scope
from core.enums import Role
from core.migrate import upgrade as upgrade_database
from core.models import StaffUser, TipKeyGrant
from core.staff import StaffError, create_staff_user, set_password
from moderation.staff_accounts import reset_two_factor
from tipline import instance as instance_folder
from tipline.bans_cli import bans
from tipline.broker import BrokerError
from tipline.checks_cli import checks
from tipline.database import find_staff_user, revisions, safe_url
from tipline.demo import DEMO_ADMIN_EMAIL
from tipline.digest_cli import digest
from tipline.lists_cli import lists
from tipline.standalone import Options, StandaloneError, run
from tipline.tips_cli import tips

ROLES = [role.value for role in Role]


class _Group(click.Group):
    """The root group: turns the errors a user can fix into a message and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConfigError, StaffError, StandaloneError, BrokerError) as exc:
            raise click.ClickException(str(exc)) from None
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise click.ClickException(
                f"database error: {reason}\n"
                "Is the database server running, and has `tipline db upgrade` been run?"
            ) from None


@click.group(cls=_Group)
@click.version_option(package_name="tipline")
def cli() -> None:
    """Tipline: readers' tips and comments, checked by workers, decided by moderators."""


cli.add_command(lists)
cli.add_command(bans)
cli.add_command(checks)
cli.add_command(tips)
cli.add_command(digest)


def main() -> None:
    """The console script's entry point."""
    cli(prog_name="tipline")


def _settings() -> Settings:
    return Settings.from_env()


@cli.command()
def init() -> None:
    """Create the instance folder with new secrets; never overwrites them."""
    folder = instance_folder.instance_path()
    if folder.exists() and not folder.is_dir():
        raise click.ClickException(f"{folder} is a file, not a folder: set TIPLINE_INSTANCE_PATH")
    try:
        result = instance_folder.init_instance(folder)
    except OSError as exc:
        raise click.ClickException(f"cannot create {folder}: {exc.strerror}") from None
    if not result.created:
        click.echo(f"{result.path} already exists; it was left unchanged.")
        if result.missing:
            names = ", ".join(result.missing)
            raise click.ClickException(f"it lacks {names}: add them or move the file away")
        return
    click.echo(f"Created {result.path} (readable by its owner only).")
    if instance_folder.loose_permissions(folder):
        click.echo(f"Warning: {folder} can be read by other users; `chmod 700` it.")
    click.echo(
        "Every Tipline process on this machine reads it from there. When the sites run on\n"
        "different hosts, give each one only the secrets it needs, as environment variables\n"
        "(`tipline env --host NAME` prints them):"
    )
    for line in instance_folder.describe_hosts():
        click.echo(line)
    click.echo(
        "No site needs TIPLINE_TIP_PRIVATE_KEY: run `tipline tips setup --import-secrets-key\n"
        "--as EMAIL` to hand the tip key to an editor (their password then guards it), then\n"
        "delete tip_private_key from this file. The public site must never get\n"
        "TIPLINE_WORKER_PRIVATE_KEY."
    )


@cli.command("env")
@click.option(
    "--host",
    type=click.Choice(list(instance_folder.HOSTS)),
    help="Only the secrets this host needs (default: all of them).",
)
def env_command(host: str | None) -> None:
    """Print the secrets as TIPLINE_* lines for an env file."""
    folder = instance_folder.instance_path()
    if not (folder / "secrets.json").exists():
        raise click.ClickException(f"no secrets in {folder}: run `tipline init` first")
    for line in instance_folder.env_lines(folder, host):
        click.echo(line)


@cli.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    settings = _settings()
    click.echo(f"Upgrading {safe_url(settings.database_url)} ...")
    upgrade_database(settings.database_url)
    state = revisions(settings.database_url)
    click.echo(f"The database is at revision {', '.join(state.current)} (newest).")


@db.command("current")
@click.option("--check", is_flag=True, help="Exit with 1 unless the schema is the newest.")
def db_current(check: bool) -> None:
    """Show the database's schema revision and whether it is the newest."""
    settings = _settings()
    state = revisions(settings.database_url)
    current = ", ".join(state.current) or "none (empty database)"
    click.echo(f"database: {safe_url(settings.database_url)}")
    click.echo(f"current:  {current}")
    click.echo(f"newest:   {', '.join(state.heads)}")
    if not state.up_to_date:
        click.echo("Run `tipline db upgrade` to bring it up to date.")
        if check:
            sys.exit(1)


@cli.group()
def user() -> None:
    """Staff accounts of the staff site."""


def _holds_tip_keys(session: Session, account: StaffUser) -> bool:
    grant = select(TipKeyGrant.tip_key_id).where(TipKeyGrant.staff_id == account.id).limit(1)
    return account.wrapped_private_key is not None and session.scalar(grant) is not None


def _current_password(account: StaffUser) -> str:
    """The account's current password, if the operator knows it: it keeps their tip keys."""
    current: str = click.prompt(
        "Current password (leave empty if unknown: their tip access then ends)",
        default="",
        show_default=False,
        hide_input=True,
    )
    # A typo would drop the key as surely as an empty answer: refuse it rather than guess.
    if current and tipkeys.personal_private_key(account, current) is None:
        raise StaffError("that is not their current password: nothing was changed")
    return current


def _new_password() -> str:
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@user.command("create")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the account may do.")
@click.argument("email")
def user_create(role: str, email: str) -> None:
    """Create a staff account; asks for its password twice."""
    engine = make_engine(_settings().database_url)
    try:
        with session_scope(engine) as session:
            if find_staff_user(session, email) is not None:
                raise StaffError(f"a staff account for {email.strip().lower()} already exists")
            account = create_staff_user(session, email, _new_password(), Role(role))
            session.commit()
            click.echo(f"Created {account.role.value} {account.email}.")
    finally:
        engine.dispose()


@user.command("password")
@click.argument("email")
def user_password(email: str) -> None:
    """Set a new password for a staff account and end its sessions."""
    engine = make_engine(_settings().database_url)
    try:
        with session_scope(engine) as session:
            account = find_staff_user(session, email)
            if account is None:
                raise StaffError(f"there is no staff account for {email.strip().lower()}")
            # Only someone who holds a tip key has access to lose: the others are not asked.
            had_access = _holds_tip_keys(session, account)
            current = _current_password(account) if had_access else ""
            set_password(account, _new_password(), old_password=current or None)
            session.commit()
            click.echo(f"New password set for {account.email}; their other sessions have ended.")
            if had_access and account.wrapped_private_key is not None:
                click.echo("Their tip key access is kept: it opens with the new password.")
            elif had_access:
                # Their personal key was wrapped under the old password, which we do not have.
                click.echo(
                    "Their tip key access ended with the old password: someone who holds the key "
                    f"can give it back with `tipline tips grant {account.email} --as EMAIL`."
                )
    finally:
        engine.dispose()


@user.command("reset-two-factor")
@click.argument("email")
def user_reset_two_factor(email: str) -> None:
    """Remove a staff account's second factor (a lost phone); they set it up again."""
    engine = make_engine(_settings().database_url)
    try:
        with session_scope(engine) as session:
            account = find_staff_user(session, email)
            if account is None:
                raise StaffError(f"there is no staff account for {email.strip().lower()}")
            if reset_two_factor(session, None, account):
                click.echo(f"Two-factor login removed for {account.email}.")
            else:
                click.echo(f"{account.email} has no two-factor login.")
    finally:
        engine.dispose()


@user.command("list")
def user_list() -> None:
    """List the staff accounts."""
    engine = make_engine(_settings().database_url)
    try:
        with session_scope(engine) as session:
            accounts = session.scalars(select(StaffUser).order_by(StaffUser.email)).all()
            if not accounts:
                click.echo("No staff accounts yet: `tipline user create --role admin EMAIL`.")
            for account in accounts:
                state = "active" if account.is_active else "inactive"
                last = account.last_login_at
                seen = last.strftime("%Y-%m-%d %H:%M UTC") if last else "never"
                click.echo(f"{account.email:<40} {account.role.value:<10} {state:<9} {seen}")
    finally:
        engine.dispose()


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--intake-port",
    default=5000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port of the public site.",
)
@click.option(
    "--moderation-port",
    default=5001,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port of the staff site.",
)
@click.option(
    "--web-workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="gunicorn worker processes per site.",
)
@click.option(
    "--admin-email",
    default=DEMO_ADMIN_EMAIL,
    show_default=True,
    help="The demo admin, given a new one-time password at each start.",
)
@click.option(
    "--demo/--no-demo",
    default=True,
    show_default=True,
    help="Seed the demo article and reset the demo admin's password.",
)
def standalone(
    host: str,
    intake_port: int,
    moderation_port: int,
    web_workers: int,
    admin_email: str,
    demo: bool,
) -> None:
    """Run both sites, a worker, beat (and a broker) on this machine."""
    if intake_port == moderation_port:
        raise click.UsageError("the two sites need different ports")
    options = Options(
        host=host,
        intake_port=intake_port,
        moderation_port=moderation_port,
        web_workers=web_workers,
        admin_email=admin_email,
        demo=demo,
    )
    sys.exit(run(options, echo=click.echo))
