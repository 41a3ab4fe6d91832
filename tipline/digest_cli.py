"""`tipline digest preview`: a staff member's e-mail digest as it would be sent, on the terminal."""

from __future__ import annotations

from datetime import timedelta

import click

from core.config import Settings
from core.db import make_engine, session_scope, utcnow
from core.digest import build_digest, render_digest
from tipline.database import find_staff_user


@click.group("digest")
def digest() -> None:
    """Staff members' e-mail digests."""


@digest.command("preview")
@click.argument("email")
@click.option(
    "--hours",
    type=click.IntRange(min=1, max=24 * 31),
    default=24,
    show_default=True,
    help="How many hours, up to now, the digest covers.",
)
@click.option("--text", "part", flag_value="text", default=True, help="Print the plain-text part.")
@click.option("--html", "part", flag_value="html", help="Print the HTML part instead.")
@click.option("--locale", default="", help="The language (es, en); the site's default if unset.")
def preview_command(email: str, hours: int, part: str, locale: str) -> None:
    """Print EMAIL's digest for the last --hours: its subject, then one part. Sends nothing."""
    settings = Settings.from_env()
    language = locale or settings.default_locale
    if language not in settings.locales:
        raise click.BadParameter(
            f"choose one of: {', '.join(settings.locales)}", param_hint="--locale"
        )
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            user = find_staff_user(session, email)
            if user is None:
                raise click.ClickException(f"no staff account has the e-mail {email}")
            end = utcnow()
            built = build_digest(
                session,
                user,
                end - timedelta(hours=hours),
                end,
                moderation_url=settings.moderation_url,
                site_name=settings.site_name,
            )
            rendered = render_digest(built, language)
    finally:
        engine.dispose()
    click.echo(f"Subject: {rendered.subject}")
    if built.empty:
        click.echo("(Nothing to report: this digest is sent only to those who want one always.)")
    click.echo("")
    click.echo(rendered.html if part == "html" else rendered.text)
