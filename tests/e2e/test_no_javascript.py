"""Everything works with JavaScript switched off: sources often browse with it disabled (Tor
Browser's safest level), and no form of ours may depend on it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from core.enums import ModerationMode, Role, Status
from tests.e2e.conftest import (
    LiveServer,
    Visitor,
    add_article,
    add_staff,
    log_in,
    status_of,
    wait_checked,
)
from tests.support import Process

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

COMMENT = "Sin JavaScript también se puede opinar."
TIP = "Escribo desde Tor Browser con el nivel más seguro: sin JavaScript."


def test_comment_tip_and_approval_without_javascript(
    session: Session,
    public_site: LiveServer,
    staff_site: LiveServer,
    worker: Process,
    beat: Process,
    visitor: Callable[..., Visitor],
) -> None:
    locale = "es-ES"
    article = add_article(session, ModerationMode.pre)
    add_staff(session, "mod@example.org", Role.moderator)
    pub, staff = public_site.t, staff_site.t

    reader = visitor(locale, java_script_enabled=False)
    page = reader.page
    article_url = f"{public_site.url}/articles/{article.slug}"
    page.goto(article_url)
    # A failed submission still comes back with the errors and what was typed.
    page.get_by_label(pub(locale, "Display name")).fill("Ramón")
    page.get_by_role("button", name=pub(locale, "Send comment")).click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.get_by_label(pub(locale, "Display name"))).to_have_value("Ramón")
    page.get_by_label(pub(locale, "Your comment")).fill(COMMENT)
    page.get_by_role("button", name=pub(locale, "Send comment")).click()
    comment_ref = page.locator(".reference__code").inner_text().strip()

    page.goto(f"{public_site.url}/tip")
    page.get_by_label(pub(locale, "What do you want to tell us?")).fill(TIP)
    page.get_by_role("button", name=pub(locale, "Send tip")).click()
    tip_ref = page.locator(".reference__code:not(.codename)").inner_text().strip()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        pub(locale, "Thank you: your tip was received")
    )
    assert wait_checked(session, tip_ref) is Status.new
    assert wait_checked(session, comment_ref) is Status.pending

    moderator = visitor(locale, java_script_enabled=False)
    mod = moderator.page
    log_in(moderator, staff_site, "mod@example.org")
    row = mod.locator("ol.queue > li").filter(has_text=COMMENT)
    row.get_by_role("link", name=staff(locale, "Comment by %(name)s", name="Ramón")).click()
    mod.get_by_role("button", name=staff(locale, "Approve"), exact=True).click()
    expect(mod.get_by_role("status").first).to_be_visible()
    assert status_of(session, comment_ref) is Status.published

    page.goto(article_url)
    expect(page.locator(".comment-list .comment__text")).to_have_text([COMMENT])
