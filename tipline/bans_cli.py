"""`tipline bans`: the senders banned from the staff site, listed and lifted.

Bans are made on a comment's page of the staff site, where the sender's hashes are at hand;
this command lists them and lifts them (audited under the actor "cli"), as the Bans page does.
"""

from __future__ import annotations

import click

from core.config import Settings
from core.db import make_engine, session_scope
from core.models import Ban
from moderation.bans import lift_ban, list_bans


def _line(ban: Ban) -> str:
    # A hash is shortened as on the page: enough to tell two senders apart.
    value = ban.value if ban.target.value == "name" else ban.value[:12] + "…"
    until = ban.expires_at.strftime("%Y-%m-%d %H:%M UTC") if ban.expires_at else "permanent"
    who = ban.created_by.email if ban.created_by else "unknown"
    state = ""
    if ban.lifted_at:
        state = f" [lifted {ban.lifted_at:%Y-%m-%d %H:%M UTC}]"
    return (
        f"{ban.id:>6}  {ban.target.value:<5} {value:<24} {until:<20} {who:<30} {ban.reason}{state}"
    )


@click.group("bans")
def bans() -> None:
    """Senders banned from the staff site: their submissions are rejected on arrival."""


@bans.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also the bans lifted or expired.")
def list_command(show_all: bool) -> None:
    """List the bans in force (and, with --all, the latest that ended)."""
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            active, ended = list_bans(session)
            if not active:
                click.echo("No bans in force.")
            for ban in active:
                click.echo(_line(ban))
            if show_all and ended:
                click.echo("\nLifted or expired:")
                for ban in ended:
                    click.echo(_line(ban))
    finally:
        engine.dispose()


@bans.command("lift")
@click.argument("ban_id", type=int)
def lift(ban_id: int) -> None:
    """Lift the ban with this ID (the first column of `tipline bans list`)."""
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            found = session.get(Ban, ban_id)
            if found is None:
                raise click.ClickException(f"there is no ban {ban_id}")
            if found.lifted_at is not None:
                click.echo(f"Ban {ban_id} was already lifted.")
                return
            lift_ban(session, ban_id, actor=None)
            click.echo(f"Lifted ban {ban_id} ({found.target.value}).")
    finally:
        engine.dispose()
    click.echo(f"Running workers use the change within {settings.knowledge_ttl_seconds:g} seconds.")
