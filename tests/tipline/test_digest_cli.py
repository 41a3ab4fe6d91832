"""`tipline digest preview EMAIL`: the digest as it would be sent, on the terminal."""

from __future__ import annotations

from click.testing import CliRunner, Result
from sqlalchemy.orm import Session

from core.config import Settings
from tests.support import settings_env
from tests.support_digest import ANA, ED, TIP_MARKERS, arrange_day
from tipline.cli import cli


def _run(settings: Settings, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["digest", "preview", *args], env=settings_env(settings))
    assert "Traceback" not in result.output
    return result


def test_preview_prints_the_subject_and_the_text_part(settings: Settings, session: Session) -> None:
    arrange_day(session)
    result = _run(settings, ED, "--locale", "en")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Subject: Tipline digest: 3 new tips, 3 comments waiting"
    assert "New tips in this period: 3" in result.output
    assert "Apagones en La Habana: 4" in result.output
    assert "<table" not in result.output
    for marker in TIP_MARKERS:
        assert marker not in result.output


def test_preview_in_html_for_a_moderator_and_in_spanish(
    settings: Settings, session: Session
) -> None:
    arrange_day(session)
    html = _run(settings, ANA, "--html", "--locale", "en")
    assert html.exit_code == 0, html.output
    assert "<!doctype html>" in html.output and "<table" in html.output
    assert "New tips" not in html.output and "Comment backlog" in html.output
    spanish = _run(settings, ANA)  # the site's default language
    assert settings.default_locale == "es"
    assert "Pendiente" in spanish.output and "Pending" not in spanish.output


def test_a_short_period_can_be_empty(settings: Settings, session: Session) -> None:
    arrange_day(session)
    # The sample's work happened 10 to 20 hours ago; only the standing backlog shows.
    result = _run(settings, ED, "--hours", "1", "--locale", "en")
    assert result.exit_code == 0, result.output
    assert "New tips" not in result.output and "Pending: 2" in result.output


def test_bad_input_gets_a_message(settings: Settings, session: Session) -> None:
    arrange_day(session)
    unknown = _run(settings, "nobody@example.org")
    assert unknown.exit_code == 1 and "no staff account has the e-mail" in unknown.output
    hours = _run(settings, ED, "--hours", "0")
    assert hours.exit_code == 2 and "--hours" in hours.output
    locale = _run(settings, ED, "--locale", "fr")
    assert locale.exit_code == 2 and "choose one of: es, en" in locale.output
