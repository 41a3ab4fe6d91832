"""`tipline bans`: senders banned or pre-moderated, listed, sanctioned and lifted.

Sanctions are usually made on a comment's page of the staff site, where the sender's hashes are
at hand; `tipline bans add` does the same from a comment's ID, in a staff account's name (the
audit log names them, as it would on the page). `list` and `lift` do what the Bans page does
(a lift is audited under the actor "cli").
"""

from __future__ import annotations

import click
from sqlalchemy import select

from core.config import Settings
from core.db import make_engine, session_scope
from core.enums import BanEffect, BanTarget, Kind
from core.models import Ban, StaffUser, Submission
from core.staff import normalise_email
from moderation.bans import DURATIONS, ban_sender, lift_ban, list_bans


def _line(ban: Ban) -> str:
    # A hash is shortened as on the page: enough to tell two senders apart.
    value = ban.value if ban.target.value == "name" else ban.value[:12] + "…"
    until = ban.expires_at.strftime("%Y-%m-%d %H:%M UTC") if ban.expires_at else "permanent"
    who = ban.created_by.email if ban.created_by else "unknown"
    state = " [pre-moderation]" if ban.effect is BanEffect.premoderate else ""
    if ban.lifted_at:
        state = f" [lifted {ban.lifted_at:%Y-%m-%d %H:%M UTC}]"
    return (
        f"{ban.id:>6}  {ban.target.value:<5} {value:<24} {until:<20} {who:<30} {ban.reason}{state}"
    )


@click.group("bans")
def bans() -> None:
    """Banned senders (their submissions go to spam) and pre-moderated ones (held for review)."""


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


@bans.command("add")
@click.argument("submission_id", type=int)
@click.option(
    "--by",
    "targets",
    multiple=True,
    required=True,
    type=click.Choice([t.value for t in BanTarget]),
    help="What to name the comment's sender by (repeatable): email, ip (network) or name.",
)
@click.option("--reason", required=True, help="Why; moderators read it with their submissions.")
@click.option(
    "--for",
    "duration",
    default="7",
    show_default=True,
    type=click.Choice(list(DURATIONS)),
    help="Days, or permanent.",
)
@click.option("--premoderate", is_flag=True, help="Hold their submissions instead of banning.")
@click.option(
    "--reject-all",
    is_flag=True,
    help="Also reject their pending, published and reported comments (bans by email or ip).",
)
@click.option("--as", "actor_email", required=True, help="The staff account the audit log names.")
def add(
    submission_id: int,
    targets: tuple[str, ...],
    reason: str,
    duration: str,
    premoderate: bool,
    reject_all: bool,
    actor_email: str,
) -> None:
    """Ban (or pre-moderate) the sender of the comment with this ID."""
    if not reason.strip():
        raise click.BadParameter("say why", param_hint="--reason")
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            actor = session.scalar(
                select(StaffUser).where(StaffUser.email == normalise_email(actor_email))
            )
            if actor is None or not actor.is_active:
                raise click.ClickException(f"there is no active staff account {actor_email}")
            submission = session.get(Submission, submission_id)
            if submission is None or submission.kind is not Kind.comment:
                raise click.ClickException(f"there is no comment {submission_id}")
            effect = BanEffect.premoderate if premoderate else BanEffect.ban
            try:
                done = ban_sender(
                    session,
                    submission,
                    [BanTarget(t) for t in targets],
                    reason.strip(),
                    DURATIONS[duration],
                    actor,
                    effect=effect,
                    reject_all=reject_all,
                )
            except ValueError as exc:
                raise click.ClickException(str(exc)) from None
            what = "Pre-moderated" if premoderate else "Banned"
            made = ", ".join(f"{ban.target.value} (ban {ban.id})" for ban in done.made)
            click.echo(f"{what}: {made}" if made else "Nothing new: already sanctioned by that.")
            if reject_all:
                click.echo(f"{done.rejected} comments rejected.")
    finally:
        engine.dispose()
    click.echo(f"Running workers use the change within {settings.knowledge_ttl_seconds:g} seconds.")


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
