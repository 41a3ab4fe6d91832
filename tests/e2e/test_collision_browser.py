"""Two moderators in two browsers open the same comment: the second sees who is reviewing it,
both decide, and the second is told who decided first, when, and what the comment is now."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from core.enums import Kind, ModerationMode, Role, Status
from core.models import Submission
from tests.e2e.conftest import LiveServer, Visitor, add_article, add_staff, log_in, status_of

pytestmark = pytest.mark.browser

LOCALE = "en-US"
# A script's decision, as the desk's JavaScript sends one: the page's form, asking for JSON.
POST_AS_SCRIPT = """async ([to, version]) => {
  const form = document.querySelector("form.decision-form");
  const data = new FormData(form);
  data.set("to", to);
  data.set("version", version);
  const response = await fetch(form.action, {
    method: "POST", body: data, headers: {"Accept": "application/json"}
  });
  return [response.status, await response.json()];
}"""


def test_two_moderators_on_one_comment_the_second_sees_the_claim_and_the_conflict(
    session: Session, staff_site: LiveServer, visitor: Callable[..., Visitor]
) -> None:
    article = add_article(session, ModerationMode.pre)
    add_staff(session, "ana@example.org", Role.moderator)
    add_staff(session, "luis@example.org", Role.moderator)
    comment = Submission(
        kind=Kind.comment,
        status=Status.pending,
        article_id=article.id,
        author_name="Yanelis",
        body="Llevamos tres días sin corriente en Centro Habana.",
    )
    session.add(comment)
    session.commit()
    url = f"{staff_site.url}/submissions/{comment.id}"
    t = staff_site.t

    ana, luis = visitor(LOCALE), visitor(LOCALE)
    log_in(ana, staff_site, "ana@example.org")
    log_in(luis, staff_site, "luis@example.org")

    # Ana opens the comment first; Luis, opening it next, is told that she has it open.
    ana.page.goto(url)
    expect(ana.page.get_by_role("heading", level=1)).to_contain_text(comment.ref)
    expect(ana.page.locator(".claim-badge")).to_have_count(0)
    # The page's script that renews the claim while it stays open was loaded (CSP allows it).
    assert any(r.endswith("/static/claims.js") for r in ana.requests)
    luis.page.goto(url)
    expect(luis.page.locator(".claim-badge")).to_contain_text("Being reviewed by ana@example.org")
    # The queue says so too.
    luis.page.goto(f"{staff_site.url}/queue?status=pending")
    expect(luis.page.locator(".claim-badge")).to_contain_text("Being reviewed by ana@example.org")
    luis.page.goto(url)

    # Both decide: Ana approves, then Luis (still looking at the pending version) rejects.
    ana.page.get_by_role("button", name=t(LOCALE, "Approve"), exact=True).click()
    expect(ana.page.get_by_role("status").first).to_contain_text(
        t(LOCALE, "Saved: the comment is now %(status)s.", status=t(LOCALE, "Published"))
    )
    luis.page.get_by_role("button", name=t(LOCALE, "Reject"), exact=True).click()

    alert = luis.page.get_by_role("alert")
    expect(alert).to_contain_text("Already decided by ana@example.org at ")
    expect(alert).to_contain_text("it is now Published.")
    # The page now shows the comment as it is: published, no longer claimed, and the moves a
    # published comment allows.
    expect(luis.page.locator(".facts .status")).to_have_text(t(LOCALE, "Published"))
    expect(luis.page.locator(".claim-badge")).to_have_count(0)
    expect(luis.page.get_by_role("button", name=t(LOCALE, "Approve"), exact=True)).to_have_count(0)
    assert status_of(session, comment.ref) is Status.published

    # A script that decides on the stale version gets HTTP 409 and the current state.
    result: Any = luis.page.evaluate(POST_AS_SCRIPT, ["spam", "1"])
    status_code, body = result
    assert status_code == 409
    assert body["error"].startswith("Already decided by ana@example.org at ")
    assert body["status"] == "published"
    assert status_of(session, comment.ref) is Status.published
    # Nothing else went wrong in the page (a script refused by the CSP would show here); the
    # browser reports the two expected 409 answers as failed loads.
    assert [e for e in luis.console_errors if "409" not in e] == []
