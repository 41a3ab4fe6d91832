"""The public pages load nothing from anywhere else: no fonts, scripts, pixels or embeds that
would tell a third party who reads the site or sends a tip."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Response, expect
from sqlalchemy.orm import Session

from core.enums import Kind, ModerationMode, Status
from core.models import Submission
from tests.e2e.conftest import LOCALES, LiveServer, Visitor, add_article

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.mark.parametrize("locale", LOCALES)
def test_public_pages_request_only_their_own_origin(
    locale: str,
    session: Session,
    public_site: LiveServer,
    visitor: Callable[..., Visitor],
) -> None:
    article = add_article(session, ModerationMode.post)
    # A reader's link to elsewhere is a link, never something the page fetches.
    session.add(
        Submission(
            kind=Kind.comment,
            status=Status.published,
            article_id=article.id,
            author_name="Yanelis",
            body="Foto: https://images.example.com/apagon.jpg y https://fonts.example.net/x.css",
        )
    )
    session.commit()
    reader = visitor(locale)
    page = reader.page
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    t = public_site.t

    page.goto(public_site.url)
    page.goto(f"{public_site.url}/articles/{article.slug}")
    expect(page.locator(".comment-list .comment__text a")).to_have_count(2)
    page.get_by_role("link", name=t(locale, "Send us a tip"), exact=True).click()
    expect(page.get_by_label(t(locale, "What do you want to tell us?"))).to_be_visible()
    page.get_by_label(t(locale, "What do you want to tell us?")).fill(
        "En el mercado de Cuatro Caminos revenden el pollo de la canasta."
    )
    page.get_by_role("button", name=t(locale, "Send tip")).click()
    expect(page.locator(".codename")).to_be_visible()
    page.wait_for_load_state("networkidle")

    own = public_site.url
    elsewhere = [url for url in reader.requests if origin(url) != own]
    assert elsewhere == [], f"requests to other origins: {elsewhere}"
    # The pages' own resources all loaded, the stylesheet among them.
    assert any(url.endswith("/static/intake.css") for url in reader.requests)
    failed = [f"{r.status} {r.url}" for r in responses if r.status >= 400]
    assert failed == [], failed
    # Nothing was blocked by the Content-Security-Policy (an inline style or script would be,
    # and a page that relies on one looks or works differently in production).
    blocked = [m for m in reader.console_errors if "Content Security Policy" in m]
    assert blocked == [], blocked
