"""The queue tabs' counts follow other moderators' decisions without a reload."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from core.enums import Kind, ModerationMode, Role, Status
from core.models import Submission
from tests.e2e.conftest import LiveServer, Visitor, add_article, add_staff, log_in, status_of

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

# Poll twice a second rather than every 10 s, so the test need not wait long.
POLL_MS = 500


def script_errors(user: Visitor) -> list[str]:
    """Console errors other than failed loads (Chromium asks for a /favicon.ico we lack)."""
    return [m for m in user.console_errors if not m.startswith("Failed to load resource")]


def test_a_decision_elsewhere_updates_the_tab_counts_without_a_reload(
    session: Session,
    moderation_app: Flask,
    staff_site: LiveServer,
    visitor: Callable[..., Visitor],
) -> None:
    moderation_app.config["COUNTS_POLL_MS"] = POLL_MS
    article = add_article(session, ModerationMode.pre)
    add_staff(session, "ana@example.org", Role.moderator)
    add_staff(session, "luis@example.org", Role.moderator)
    comment = Submission(
        kind=Kind.comment,
        status=Status.pending,
        article_id=article.id,
        author_name="Ramón",
        body="¿Alguien más se quedó sin luz?",
    )
    session.add(comment)
    session.commit()
    ref = comment.ref

    ana = visitor("es-ES")
    log_in(ana, staff_site, "ana@example.org")
    ana.page.goto(f"{staff_site.url}/queue?status=spam")
    pending = ana.page.locator('[data-count="comment-pending"] .count')
    published = ana.page.locator('[data-count="comment-published"] .count')
    everything = ana.page.locator('[data-count="comment-all"] .count')
    expect(pending).to_have_text("1")
    expect(published).to_have_text("0")
    expect(everything).to_have_text("1")
    # A mark on this page's window: a reload would wipe it.
    ana.page.evaluate("() => { window.notReloaded = true; }")

    luis = visitor("es-ES")
    log_in(luis, staff_site, "luis@example.org")
    luis.page.goto(f"{staff_site.url}/queue?status=pending")
    luis.page.locator("form.row-decision button.decision-published").click()
    expect(luis.page.locator('[data-count="comment-pending"] .count')).to_have_text("0")
    assert status_of(session, ref) == Status.published

    expect(pending).to_have_text("0", timeout=12_000)
    expect(published).to_have_text("1")
    expect(everything).to_have_text("1")
    assert ana.page.evaluate("() => window.notReloaded") is True
    assert any(url.endswith("/counts.json") for url in ana.requests)
    assert script_errors(ana) == []
    # The counts are not live regions: screen readers are not interrupted on every poll.
    assert ana.page.locator("[aria-live]").count() == 0


def test_polling_stops_once_the_session_has_ended(
    session: Session,
    moderation_app: Flask,
    staff_site: LiveServer,
    visitor: Callable[..., Visitor],
) -> None:
    moderation_app.config["COUNTS_POLL_MS"] = POLL_MS
    add_staff(session, "ana@example.org", Role.moderator)
    ana = visitor("en-US")
    log_in(ana, staff_site, "ana@example.org")
    ana.page.goto(f"{staff_site.url}/queue?status=pending")
    ana.context.clear_cookies()  # as if the session had expired

    def polls() -> int:
        return sum(url.endswith("/counts.json") for url in ana.requests)

    ana.page.wait_for_timeout(POLL_MS * 3)
    after_logout = polls()
    assert after_logout >= 1
    ana.page.wait_for_timeout(POLL_MS * 4)
    assert polls() == after_logout
    assert script_errors(ana) == []
