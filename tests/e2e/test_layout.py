"""Readers' text cannot break the layout: with long names, words and links, no page scrolls
sideways on a 320 px phone, on the public site and the staff site alike."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from core.enums import Kind, ModerationMode, Role, Status, Verdict
from core.models import CheckResult, Submission
from tests.e2e.conftest import LOCALES, LiveServer, Visitor, add_article, add_staff, log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
    pytest.mark.parametrize("locale", LOCALES),
]

# A name with no space in it, as long as the form allows; a long link; a long word.
NAME = "pedro.martinez.gonzalez." * 3 + "cienfuegos"
TEXT = (
    "Mira https://example.org/noticias/2024/apagones/"
    + "centro-habana-" * 10
    + " y esto: "
    + "ahhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh" * 2
)


def sideways_overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0 when nothing sticks out)."""
    width: int = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width


def test_long_names_words_and_links_do_not_widen_the_pages(
    locale: str,
    session: Session,
    public_site: LiveServer,
    staff_site: LiveServer,
    visitor: Callable[..., Visitor],
) -> None:
    article = add_article(session, ModerationMode.pre)
    for status in (Status.published, Status.pending):
        comment = Submission(
            kind=Kind.comment, status=status, article_id=article.id, author_name=NAME, body=TEXT
        )
        comment.check_results.append(
            CheckResult(
                name="links",
                version="1",
                verdict=Verdict.ok,
                score=0.0,
                reason="links: %(count)d",
                reason_params={"count": 1},
            )
        )
        session.add(comment)
    session.commit()
    add_staff(session, "moderadora.de.guardia.nocturna@example.org", Role.moderator)
    pub, staff = public_site.t, staff_site.t
    wide: list[str] = []

    def measure(page: Page, what: str) -> None:
        page.wait_for_load_state("load")
        if (extra := sideways_overflow(page)) > 0:
            wide.append(f"{what} ({page.url}) is {extra}px wider than the window")

    phone = visitor(locale, viewport={"width": 320, "height": 640}).page
    phone.goto(f"{public_site.url}/articles/{article.slug}")
    expect(phone.locator(".comment-list .comment")).to_have_count(1)
    measure(phone, "article")
    phone.get_by_role("button", name=pub(locale, "Send comment")).click()
    expect(phone.locator(".error-summary")).to_be_visible()
    measure(phone, "article with errors")
    phone.get_by_label(pub(locale, "Display name")).fill(NAME)
    phone.get_by_label(pub(locale, "Your comment")).fill(TEXT)
    phone.get_by_role("button", name=pub(locale, "Send comment")).click()
    expect(phone.locator(".reference__code")).to_be_visible()
    measure(phone, "comment receipt")
    phone.goto(f"{public_site.url}/tip")
    measure(phone, "tip form")
    phone.get_by_role("button", name=pub(locale, "Send tip")).click()
    expect(phone.locator(".error-summary")).to_be_visible()
    measure(phone, "tip form with errors")
    phone.goto(f"{public_site.url}/no-such-page")
    measure(phone, "404 page")

    moderator = visitor(locale, viewport={"width": 320, "height": 640})
    staff_phone = moderator.page
    staff_phone.goto(f"{staff_site.url}/login")
    measure(staff_phone, "staff login")
    log_in(moderator, staff_site, "moderadora.de.guardia.nocturna@example.org")
    expect(staff_phone.locator("ol.queue > li")).to_have_count(1)
    measure(staff_phone, "pending queue")
    staff_phone.get_by_role("link", name=staff(locale, "Comment by %(name)s", name=NAME)).click()
    measure(staff_phone, "comment view")

    assert not wide, "\n".join(wide)
