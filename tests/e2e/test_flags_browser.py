"""A reader's flag in real browsers: reported on the public site, kept by a moderator."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.enums import FlagReason, Kind, ModerationMode, Role, Status
from core.flags import REASON_LABELS
from core.models import Article, Flag, Submission
from tests.e2e.conftest import (
    LOCALES,
    LiveServer,
    Visitor,
    accessibility_problems,
    add_article,
    add_staff,
    log_in,
    status_of,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
    pytest.mark.parametrize("locale", LOCALES),
]

TEXT = "Esta gente no merece vivir en este barrio, que se vayan todos."
ADDED = "Es un ataque a los vecinos de Centro Habana."


def published_comment(session: Session) -> tuple[Article, Submission]:
    """An article (post-moderated) with one published comment, committed."""
    article = add_article(session, ModerationMode.post)
    comment = Submission(
        kind=Kind.comment,
        status=Status.published,
        article_id=article.id,
        author_name="Yoel",
        body=TEXT,
    )
    session.add(comment)
    session.commit()
    return article, comment


def test_a_readers_report_reaches_the_reported_queue_and_a_moderator_keeps_it(
    locale: str,
    session: Session,
    public_site: LiveServer,
    staff_site: LiveServer,
    visitor: Callable[..., Visitor],
) -> None:
    article, comment = published_comment(session)
    ref, slug = comment.ref, article.slug
    add_staff(session, "moderadora@example.org", Role.moderator)
    pt, st = public_site.t, staff_site.t
    reason_key = FlagReason.abuse
    reason = public_site.render(locale, lambda: REASON_LABELS[reason_key])

    # A reader reports the comment from the article's page, without any script.
    reader = visitor(locale, java_script_enabled=False)
    page = reader.page
    page.goto(f"{public_site.url}/articles/{slug}")
    page.get_by_role("link", name=pt(locale, "Report")).click()
    expect(page.get_by_role("heading", name=pt(locale, "Report a comment"))).to_be_visible()
    expect(page.get_by_text(TEXT)).to_be_visible()
    page.get_by_label(reason).check()
    page.get_by_label(pt(locale, "Anything to add? (optional)")).fill(ADDED)
    page.get_by_role("button", name=pt(locale, "Send report")).click()
    expect(
        page.get_by_role("heading", name=pt(locale, "Thank you for your report"))
    ).to_be_visible()
    assert status_of(session, ref) is Status.reported
    # Still up for readers until a moderator decides.
    page.get_by_role("link", name=pt(locale, "Back to “%(title)s”", title=article.title)).click()
    expect(page.get_by_text(TEXT)).to_be_visible()

    # A moderator finds it in the Reported queue with the reader's flag listed, and keeps it.
    moderator = visitor(locale)
    log_in(moderator, staff_site, "moderadora@example.org")
    staff = moderator.page
    staff.goto(f"{staff_site.url}/queue?status=reported")
    reported = staff.locator('[data-count="comment-reported"] .count')
    expect(reported).to_have_text("1")
    row = staff.locator("article.row", has_text=TEXT)
    flags = row.locator(".flags")
    expect(flags).to_contain_text(
        staff_site.render(locale, lambda: REASON_LABELS[FlagReason.abuse])
    )
    expect(flags).to_contain_text(ADDED)
    row.get_by_role("button", name=st(locale, "Keep (dismiss reports)")).click()

    expect(reported).to_have_text("0")
    assert status_of(session, ref) is Status.published
    outcomes = session.scalars(select(Flag.outcome)).all()
    session.commit()  # end the read transaction (on SQLite it holds the write lock)
    assert outcomes == ["kept"]
    # Published again: readers still see it.
    page.goto(f"{public_site.url}/articles/{slug}")
    expect(page.get_by_text(TEXT)).to_be_visible()


def test_the_report_link_and_form_are_accessible(
    locale: str,
    session: Session,
    public_site: LiveServer,
    visitor: Callable[..., Visitor],
) -> None:
    article, _ = published_comment(session)
    slug = article.slug
    # axe is injected as an inline script, which the site's CSP forbids.
    reader = visitor(locale, bypass_csp=True)
    page = reader.page
    problems: list[str] = []

    page.goto(f"{public_site.url}/articles/{slug}")
    problems += accessibility_problems(page, "article with a report link")
    page.get_by_role("link", name=public_site.t(locale, "Report")).click()
    problems += accessibility_problems(page, "report form")
    # Sent without a reason: the errors are tied to the choices.
    page.get_by_role("button", name=public_site.t(locale, "Send report")).click()
    expect(page.locator(".error-summary")).to_be_visible()
    problems += accessibility_problems(page, "report form with an error")

    assert problems == [], "\n".join(problems)
