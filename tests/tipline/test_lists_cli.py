"""`tipline lists ...` as an admin types it: show, add, remove, audited, clear errors."""

from __future__ import annotations

from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Settings
from core.enums import ListName
from core.models import AuditEvent, ListEntry
from tests.support import settings_env
from tipline.lists_cli import lists


def _run(settings: Settings, *args: str) -> Result:
    result = CliRunner().invoke(lists, list(args), env=settings_env(settings))
    # Errors end in a message and exit code 1 or 2, never in a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


def _values(session: Session, name: ListName) -> list[str]:
    values = session.scalars(
        select(ListEntry.value).where(ListEntry.list == name).order_by(ListEntry.id)
    ).all()
    session.commit()
    return list(values)


def test_add_show_and_remove_are_audited_as_cli(settings: Settings, session: Session) -> None:
    added = _run(settings, "add", "suspect-words", "Recargas", "préstamo  rápido")
    assert added.exit_code == 0, added.output
    assert "Added to suspect-words: Recargas, préstamo rápido." in added.output
    domain = _run(settings, "add", "blocked-domains", "https://www.Promo-Cuba.xyz/x")
    assert domain.exit_code == 0, domain.output
    assert _values(session, ListName.blocked_domains) == ["promo-cuba.xyz"]

    shown = _run(settings, "show", "suspect-words")
    assert shown.exit_code == 0
    assert "suspect-words: 2 added, 0 built in" in shown.output
    assert "Recargas" in shown.output and "cli" in shown.output
    everything = _run(settings, "show").output
    assert "banned-words: 0 added" in everything and "viagra" in everything
    assert "(built in)" in everything and "allowed-domains" in everything

    removed = _run(settings, "remove", "suspect-words", "RECARGAS")
    assert removed.exit_code == 0, removed.output
    assert "Removed from suspect-words: Recargas." in removed.output
    assert _values(session, ListName.suspect_words) == ["préstamo rápido"]

    audit = session.execute(
        select(AuditEvent.action, AuditEvent.actor_label, AuditEvent.actor_id, AuditEvent.reason)
        .where(AuditEvent.action.like("list_%"))
        .order_by(AuditEvent.id)
    ).all()
    session.commit()
    assert [tuple(row) for row in audit] == [
        ("list_add", "cli", None, "suspect_words: Recargas"),
        ("list_add", "cli", None, "suspect_words: préstamo rápido"),
        ("list_add", "cli", None, "blocked_domains: promo-cuba.xyz"),
        ("list_remove", "cli", None, "suspect_words: Recargas"),
    ]


def test_refused_values_change_nothing_and_say_why(settings: Settings, session: Session) -> None:
    result = _run(settings, "add", "banned-words", "ok-word", "viagra", "!!!")
    assert result.exit_code == 1
    assert "nothing was changed" in result.output
    assert "“viagra” is already on the list: it is built in." in result.output
    assert "“!!!” has no letters or digits" in result.output
    assert _values(session, ListName.banned_words) == []

    bad_domain = _run(settings, "add", "allowed-domains", "not a domain")
    assert bad_domain.exit_code == 1
    assert "is not a domain name" in bad_domain.output

    assert _run(settings, "add", "suspect-words", "crypto").exit_code == 0
    duplicate = _run(settings, "add", "suspect-words", "CRYPTO")
    assert duplicate.exit_code == 1 and "“CRYPTO” is already on the list." in duplicate.output

    missing = _run(settings, "remove", "suspect-words", "crypto", "nope")
    assert missing.exit_code == 1 and "“nope” is not on the list." in missing.output
    assert _values(session, ListName.suspect_words) == ["crypto"]
    built_in = _run(settings, "remove", "banned-words", "viagra")
    assert built_in.exit_code == 1 and "change the settings" in built_in.output


def test_unknown_lists_and_missing_terms_are_usage_errors(settings: Settings) -> None:
    unknown = _run(settings, "add", "bad-words", "x")
    assert unknown.exit_code == 2 and "banned-words" in unknown.output
    missing = _run(settings, "add", "banned-words")
    assert missing.exit_code == 2 and "TERMS" in missing.output
