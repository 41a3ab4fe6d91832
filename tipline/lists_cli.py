"""`tipline lists`: the word and domain lists, managed as on the staff site's Lists page.

Changes are audited under the actor "cli" and obey the same rules as the page
(moderation.lists): values are checked, duplicates refused, and nothing changes when any value
is refused.
"""

from __future__ import annotations

import click

from core.config import Settings
from core.db import make_engine, session_scope
from core.enums import ListName
from moderation.lists import ListError, add_values, builtin, entries, remove_values

# The names the command takes: hyphens, as options are written.
LISTS = {name.value.replace("_", "-"): name for name in ListName}


def _name(value: str) -> ListName:
    return LISTS[value]


def _refused(error: ListError) -> click.ClickException:
    lines = "\n".join(f"  {problem.english()}" for problem in error.problems)
    return click.ClickException(f"nothing was changed:\n{lines}")


@click.group("lists")
def lists() -> None:
    """The word and domain lists the checks use (banned and suspect words, blocked and
    allowed domains)."""


@lists.command("show")
@click.argument("list_name", required=False, type=click.Choice(list(LISTS)))
def show(list_name: str | None) -> None:
    """Show one list or all four: the entries added, then the built-in ones."""
    settings = Settings.from_env()
    names = [_name(list_name)] if list_name else list(ListName)
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            found = entries(session)
            for i, name in enumerate(names):
                if i:
                    click.echo()
                added, built_in = found[name], builtin(settings, name)
                label = name.value.replace("_", "-")
                click.echo(f"{label}: {len(added)} added, {len(built_in)} built in")
                for entry in added:
                    who = entry.created_by.email if entry.created_by else "cli"
                    at = entry.created_at.strftime("%Y-%m-%d %H:%M UTC")
                    click.echo(f"  {entry.value:<40} {who:<30} {at}")
                for value in built_in:
                    click.echo(f"  {value:<40} (built in)")
    finally:
        engine.dispose()


@lists.command("add")
@click.argument("list_name", type=click.Choice(list(LISTS)))
@click.argument("terms", nargs=-1, required=True)
def add(list_name: str, terms: tuple[str, ...]) -> None:
    """Add words, phrases (quoted) or domains to a list."""
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            try:
                added = add_values(session, settings, _name(list_name), terms, actor=None)
            except ListError as error:
                raise _refused(error) from None
            session.commit()
            values = ", ".join(entry.value for entry in added)
            click.echo(f"Added to {list_name}: {values}.")
    finally:
        engine.dispose()
    _when(settings)


@lists.command("remove")
@click.argument("list_name", type=click.Choice(list(LISTS)))
@click.argument("terms", nargs=-1, required=True)
def remove(list_name: str, terms: tuple[str, ...]) -> None:
    """Remove words, phrases (quoted) or domains from a list."""
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            try:
                removed = remove_values(session, settings, _name(list_name), terms, actor=None)
            except ListError as error:
                raise _refused(error) from None
            session.commit()
            click.echo(f"Removed from {list_name}: {', '.join(removed)}.")
    finally:
        engine.dispose()
    _when(settings)


def _when(settings: Settings) -> None:
    click.echo(f"Running workers use the change within {settings.knowledge_ttl_seconds:g} seconds.")
