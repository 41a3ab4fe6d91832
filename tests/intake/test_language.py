"""Spanish and English: the browser's language, a switch on every page, the lang attribute."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.i18n import LANGUAGE_COOKIE
from tests.intake.helpers import add_article, add_comment, html

PAGES = ("/", "/articles/la-zafra", "/tip", "/receipts/{ref}", "/articles/nothing-here")


def _pages(client: FlaskClient, session: Session, headers: dict[str, str]) -> list[str]:
    comment = add_comment(session, add_article(session))
    return [html(client.get(path.format(ref=comment.ref), headers=headers)) for path in PAGES]


def test_the_browsers_language_sets_the_pages_language(
    intake_client: FlaskClient, session: Session
) -> None:
    english = _pages(intake_client, session, {"Accept-Language": "en-GB,en;q=0.9"})
    session.rollback()
    spanish = html(intake_client.get("/tip", headers={"Accept-Language": "es-CU,es;q=0.9"}))
    default = html(intake_client.get("/tip", headers={"Accept-Language": "fr"}))

    for page in english:
        assert '<html lang="en"' in page
    assert '<html lang="es"' in spanish
    assert '<html lang="es"' in default  # the newsroom's language when we have not the reader's


def test_every_page_offers_the_other_language(intake_client: FlaskClient, session: Session) -> None:
    for page in _pages(intake_client, session, {"Accept-Language": "es"}):
        switch = re.search(r'<nav class="languages"[^>]*>(.*?)</nav>', page, re.S)
        assert switch is not None
        assert 'lang="es" aria-current="true">Español</span>' in switch.group(1)
        assert re.search(
            r'<a href="/language/en\?next=[^"]+" lang="en" hreflang="en">English</a>',
            switch.group(1),
        )


def test_the_switch_remembers_the_choice_and_returns_to_the_page(
    intake_client: FlaskClient, session: Session
) -> None:
    add_article(session)
    spanish = html(intake_client.get("/articles/la-zafra", headers={"Accept-Language": "es"}))
    link = re.search(r'<a href="([^"]+)" lang="en"', spanish)
    assert link is not None

    response = intake_client.get(link.group(1).replace("&amp;", "&"))

    assert response.status_code == 303
    assert response.headers["Location"].rstrip("?") == "/articles/la-zafra"
    assert intake_client.get_cookie(LANGUAGE_COOKIE).value == "en"  # type: ignore[union-attr]
    # The choice wins over the browser's language from then on.
    page = html(intake_client.get("/articles/la-zafra", headers={"Accept-Language": "es"}))
    assert '<html lang="en"' in page
    assert 'lang="en" aria-current="true">English</span>' in page
