"""Sanctions in a real browser: a moderator bans a commenter from a comment's page and rejects
all they wrote; the real worker then sends their next comment to Spam, the ban named."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Settings
from core.enums import ModerationMode, Role, Status
from core.models import Submission
from tests.e2e.conftest import (
    LiveServer,
    Visitor,
    add_article,
    add_staff,
    check_reasons,
    log_in,
    status_of,
    wait_checked,
)
from tests.support import Process

pytestmark = pytest.mark.browser

LOCALE = "en-US"
SPAMMER = "recargas@example.org"
AGAIN = "Muy buen artículo, gracias por informar sobre los apagones."


def post_comment(
    reader: Visitor, site: LiveServer, slug: str, name: str, email: str, text: str
) -> str:
    """Send a comment through the article's form, as a reader would; its receipt's reference."""
    page, t = reader.page, site.t
    page.goto(f"{site.url}/articles/{slug}")
    page.get_by_label(t(LOCALE, "Display name")).fill(name)
    page.get_by_label(t(LOCALE, "E-mail (optional)")).fill(email)
    page.get_by_label(t(LOCALE, "Your comment")).fill(text)
    page.get_by_role("button", name=t(LOCALE, "Send comment")).click()
    expect(page.locator(".reference__code")).to_be_visible()
    return page.locator(".reference__code").inner_text().strip()


def submission_id(session: Session, ref: str) -> int:
    """The id of the submission with receipt `ref` (the read transaction ended at once)."""
    found = session.scalar(select(Submission.id).where(Submission.ref == ref))
    session.commit()
    assert found is not None
    return found


def test_a_moderator_bans_a_commenter_rejecting_all_they_wrote_and_their_next_goes_to_spam(
    session: Session,
    settings: Settings,
    public_site: LiveServer,
    staff_site: LiveServer,
    worker: Process,
    beat: Process,
    visitor: Callable[..., Visitor],
) -> None:
    opened = add_article(session, ModerationMode.post)
    held = add_article(session, ModerationMode.pre, slug="tarifas", title="Nuevas tarifas")
    opened_slug, held_slug = opened.slug, held.slug
    add_staff(session, "moderadora@example.org", Role.moderator)
    st = staff_site.t

    # A commenter's comments: one waits on a pre-moderated article, two are up on an open one.
    # Harmless words, so that what happens to the last one is the ban's doing alone.
    spammer = visitor(LOCALE)
    waiting = post_comment(
        spammer, public_site, held_slug, "Yoan", SPAMMER, "Gracias por el reportaje de las tarifas."
    )
    shown = [
        post_comment(spammer, public_site, opened_slug, "Yoan", SPAMMER, text)
        for text in (
            "Aquí en Holguín también subieron los precios del pan.",
            "En Santiago el agua llega solo dos veces por semana.",
        )
    ]
    # Another reader, from the same network (every browser here is 127.0.0.1).
    neighbour = visitor(LOCALE)
    theirs = post_comment(
        neighbour,
        public_site,
        opened_slug,
        "Marta",
        "marta@example.org",
        "En mi cuadra también llevamos días sin corriente.",
    )
    assert wait_checked(session, waiting) is Status.pending
    assert [wait_checked(session, ref) for ref in (*shown, theirs)] == [Status.published] * 3

    # A moderator opens the waiting comment and bans its sender by e-mail, rejecting the rest.
    moderator = visitor(LOCALE)
    log_in(moderator, staff_site, "moderadora@example.org")
    mod = moderator.page
    mod.goto(f"{staff_site.url}/submissions/{submission_id(session, waiting)}")
    panel = mod.get_by_role("region", name=st(LOCALE, "Ban or pre-moderate this sender"))
    panel.get_by_label(st(LOCALE, "E-mail address")).check()
    panel.get_by_label(st(LOCALE, "Ban"), exact=True).check()
    panel.get_by_label(
        st(LOCALE, "Also reject all of this author's pending and published comments")
    ).check()
    panel.get_by_label(st(LOCALE, "Reason")).fill("Anuncios de recargas")
    panel.get_by_label(st(LOCALE, "For")).select_option(label=st(LOCALE, "30 days"))
    panel.get_by_role("button", name=st(LOCALE, "Apply to this sender")).click()
    expect(mod.get_by_text("Banned; 3 comments rejected.")).to_be_visible()
    expect(mod.locator(".bans-in-force")).to_contain_text("Anuncios de recargas")

    # Their comments are rejected and gone from the article; the neighbour's stays.
    assert [status_of(session, ref) for ref in (waiting, *shown)] == [Status.rejected] * 3
    assert status_of(session, theirs) is Status.published
    spammer.page.goto(f"{public_site.url}/articles/{opened_slug}")
    comments = spammer.page.locator(".comment-list .comment__text")
    expect(comments).to_have_text(["En mi cuadra también llevamos días sin corriente."])

    # Workers read bans again after knowledge_ttl_seconds; then the sender writes again.
    time.sleep(settings.knowledge_ttl_seconds + 0.5)
    again = post_comment(spammer, public_site, opened_slug, "Otro nombre", SPAMMER, AGAIN)
    assert wait_checked(session, again) is Status.spam

    # The moderator finds it in Spam, the ban named among its checks' reasons.
    named = [r for r in check_reasons(session, staff_site, LOCALE, again) if "banned" in r]
    assert len(named) == 1, named
    assert named[0].startswith("sender banned (e-mail): Anuncios de recargas")
    assert "by moderadora@example.org, until " in named[0]
    mod.goto(f"{staff_site.url}/queue?status=spam")
    row = mod.locator("ol.queue > li").filter(has_text=AGAIN)
    expect(row).to_have_count(1)
    expect(row.locator(".checks")).to_contain_text(named[0])
    spammer.page.reload()
    expect(spammer.page.get_by_text(AGAIN)).to_have_count(0)
