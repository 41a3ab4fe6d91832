"""The whole journey in a real browser, in Spanish and English: a reader comments, a moderator
approves, the reader sees the comment; a reader sends a tip, an editor reads it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from core import tipkeys
from core.enums import ModerationMode, Role, Status
from tests.e2e.conftest import (
    LOCALES,
    PASSWORD,
    LiveServer,
    Visitor,
    add_article,
    add_staff,
    check_reasons,
    lang_of,
    log_in,
    wait_checked,
)
from tests.support import Process

pytestmark = pytest.mark.browser

COMMENT = "Aquí en Centro Habana llevamos tres días con cortes de doce horas."
TIP = "En la termoeléctrica de Felton desvían el combustible de los grupos electrógenos."


def assert_language(
    visitor: Visitor, site: LiveServer, message: str, spanish: str = "", **params: str
) -> None:
    """A heading shows `message` in the visitor's language (with `spanish` in it), `lang` set."""
    page, locale = visitor.page, visitor.locale
    expect(page.locator("html")).to_have_attribute("lang", lang_of(locale))

    def translated(lang: str) -> str:
        # The parameters are messages too (a status's name).
        return site.t(lang, message, **{k: site.t(lang, v) for k, v in params.items()})

    shown = translated(locale)
    if lang_of(locale) == "es":
        # The site's own catalog gives the text; it must not be the English one.
        assert shown != translated("en-US"), f"{message!r} has no Spanish translation"
        assert spanish in shown, f"{shown!r} does not say {spanish!r}"
    expect(page.get_by_role("heading", name=shown)).to_be_visible()


@pytest.mark.parametrize("locale", LOCALES)
def test_reader_comments_moderator_approves_reader_sees_it(
    locale: str,
    session: Session,
    public_site: LiveServer,
    staff_site: LiveServer,
    worker: Process,
    beat: Process,
    visitor: Callable[..., Visitor],
) -> None:
    article = add_article(session, ModerationMode.pre)
    add_staff(session, "moderadora@example.org", Role.moderator)
    pub, staff = public_site.t, staff_site.t

    # A reader opens the article and fills in the comment form by its labels.
    reader = visitor(locale)
    page = reader.page
    page.goto(f"{public_site.url}/articles/{article.slug}")
    expect(page.get_by_role("heading", level=1)).to_have_text(article.title)
    assert_language(reader, public_site, "What do you think?")
    expect(
        page.get_by_text(pub(locale, "No comments yet. Be the first to comment."))
    ).to_be_visible()
    page.get_by_label(pub(locale, "Display name")).fill("Yanelis")
    page.get_by_label(pub(locale, "E-mail (optional)")).fill("yanelis@example.org")
    page.get_by_label(pub(locale, "Your comment")).fill(COMMENT)
    page.get_by_role("button", name=pub(locale, "Send comment")).click()

    # The receipt: a reference, and no promise that the comment is up yet.
    assert_language(reader, public_site, "Thank you: your comment was received", "Gracias")
    ref = page.locator(".reference__code").inner_text().strip()
    assert len(ref) == 10, ref
    # The form's action ends in #comment-form, which the browser keeps across the redirect.
    receipt_url = page.url.split("#")[0]
    assert receipt_url.endswith(f"/receipts/{ref}")

    # The sweeper relays it, the worker checks it, and it waits for a moderator: not shown yet.
    assert wait_checked(session, ref) is Status.pending
    page.goto(f"{public_site.url}/articles/{article.slug}")
    expect(page.get_by_role("heading", level=1)).to_have_text(article.title)
    expect(page.locator(".comment-list")).to_have_count(0)
    expect(page.get_by_text(COMMENT)).to_have_count(0)

    # A moderator logs in and finds it in the pending queue with its checks' reasons.
    moderator = visitor(locale)
    mod = moderator.page
    log_in(moderator, staff_site, "moderadora@example.org")
    assert_language(moderator, staff_site, "Comments: %(status)s", "Comentarios", status="Pending")
    row = mod.locator("ol.queue > li").filter(has_text=COMMENT)
    expect(row).to_have_count(1)
    reasons = check_reasons(session, staff_site, locale, ref)
    # length, links, words, repetition, flood, sender, model, pre-moderation
    assert len(reasons) == 8, reasons
    for reason in reasons:
        expect(row.locator(".checks")).to_contain_text(reason)

    # They open it and approve it.
    row.get_by_role("link", name=staff(locale, "Comment by %(name)s", name="Yanelis")).click()
    expect(mod.get_by_role("heading", level=1)).to_have_text(
        staff(locale, "Comment %(ref)s", ref=ref)
    )
    expect(mod.locator(".full-text")).to_have_text(COMMENT)
    mod.get_by_role("button", name=staff(locale, "Approve"), exact=True).click()
    expect(mod.get_by_role("status").first).to_contain_text(
        staff(locale, "Saved: the comment is now %(status)s.", status=staff(locale, "Published"))
    )

    # The reader reloads the article and sees the comment.
    page.reload()
    comment = page.locator(".comment-list .comment")
    expect(comment).to_have_count(1)
    expect(comment.get_by_role("heading", name="Yanelis")).to_be_visible()
    expect(comment.locator(".comment__text")).to_have_text(COMMENT)
    # The e-mail address is never shown.
    expect(page.get_by_text("yanelis@example.org")).to_have_count(0)

    # Their receipt says it is published now, and leads back to the article.
    page.goto(receipt_url)
    assert_language(reader, public_site, "Thank you: your comment is published", "Gracias")
    page.get_by_role("link", name=pub(locale, "Go to “%(title)s”", title=article.title)).click()
    expect(page.locator(".comment-list .comment__text")).to_have_text([COMMENT])


REPLY = "Gracias. ¿Puede decirnos en qué policlínico?"


@pytest.mark.parametrize("locale", LOCALES)
def test_reader_sends_tip_editor_reads_it_moderator_cannot(
    locale: str,
    session: Session,
    public_site: LiveServer,
    staff_site: LiveServer,
    worker: Process,
    beat: Process,
    visitor: Callable[..., Visitor],
) -> None:
    article = add_article(session, ModerationMode.pre)
    editor_account = add_staff(session, "editor@example.org", Role.editor)
    # The editor holds the newsroom's tip key: their login unlocks it (core.tipkeys).
    tipkeys.set_up(session, editor_account, PASSWORD)
    add_staff(session, "moderador@example.org", Role.moderator)
    pub, staff = public_site.t, staff_site.t

    # From the article, the reader follows the way to the tip form and sends a tip.
    reader = visitor(locale)
    page = reader.page
    page.goto(f"{public_site.url}/articles/{article.slug}")
    expect(
        page.get_by_role("heading", name=pub(locale, "Do you have something to report?"))
    ).to_be_visible()
    page.get_by_role("link", name=pub(locale, "Send us a tip"), exact=True).click()
    assert_language(reader, public_site, "Send us a tip")
    page.get_by_label(pub(locale, "What do you want to tell us?")).fill(TIP)
    page.get_by_label(pub(locale, "How can we reach you? (optional)")).fill("Signal +53 5555 0101")
    page.get_by_label(pub(locale, "Your name (optional)")).fill("Un trabajador")
    page.get_by_role("button", name=pub(locale, "Send tip")).click()
    assert_language(reader, public_site, "Thank you: your tip was received", "Gracias")
    ref = page.locator(".reference__code:not(.codename)").inner_text().strip()
    # The way back: a codename, shown once.
    codename = page.locator(".codename").inner_text().strip()
    assert len(codename.split()) >= 7
    # The receipt never repeats what the tipster wrote.
    expect(page.get_by_text(TIP)).to_have_count(0)
    assert wait_checked(session, ref) is Status.new

    # An editor opens Tips, finds it by its reference and reads it, opened with the tip key.
    editor = visitor(locale)
    ed = editor.page
    log_in(editor, staff_site, "editor@example.org")
    ed.get_by_role("navigation", name=staff(locale, "Queues")).get_by_role(
        "link", name=staff(locale, "Tips")
    ).click()
    assert_language(editor, staff_site, "Tips: %(status)s", status="New")
    ed.get_by_role("link", name=ref, exact=True).click()
    expect(ed.get_by_role("heading", level=1)).to_have_text(staff(locale, "Tip %(ref)s", ref=ref))
    expect(ed.locator(".full-text")).to_have_text(TIP)
    expect(ed.get_by_text("Signal +53 5555 0101")).to_be_visible()
    expect(ed.get_by_text("Un trabajador")).to_be_visible()
    tip_url = ed.url

    # The editor replies; the tipster comes back with the codename and reads the reply.
    ed.get_by_label(staff(locale, "Reply to the source")).fill(REPLY)
    ed.get_by_role("button", name=staff(locale, "Send reply")).click()
    expect(ed.get_by_text(REPLY)).to_be_visible()
    page.goto(f"{public_site.url}/tip/return")
    page.get_by_label(pub(locale, "Your codename")).fill(codename)
    page.get_by_role("button", name=pub(locale, "Continue")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(pub(locale, "Your tip"))
    expect(page.get_by_text(REPLY)).to_be_visible()

    # A moderator has no Tips link, and the tip's address is refused.
    moderator = visitor(locale)
    mod = moderator.page
    log_in(moderator, staff_site, "moderador@example.org")
    nav = mod.get_by_role("navigation", name=staff(locale, "Queues"))
    expect(nav.get_by_role("link", name=staff(locale, "Pending"))).to_be_visible()
    expect(nav.get_by_role("link", name=staff(locale, "Tips"))).to_have_count(0)
    for url in (f"{staff_site.url}/tips", tip_url):
        response = mod.goto(url)
        assert response is not None and response.status == 403, url
        expect(mod.get_by_role("heading", level=1)).to_have_text(staff(locale, "Not allowed"))
        expect(mod.get_by_text(TIP)).to_have_count(0)
