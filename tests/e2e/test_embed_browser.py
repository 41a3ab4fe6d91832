"""The embedded thread on an outlet's article page, served from another origin, in Chromium.

The outlet's page (tests/e2e/outlet/) is served by a plain HTTP server on its own port, with a
strict Content-Security-Policy and a stylesheet that would hide every button and form of a
thread rendered into the page itself: the embed must work through both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from playwright.sync_api import Page, Route, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import site_settings, thread_cache
from core.config import Settings
from core.db import utcnow
from core.enums import Kind, ModerationMode, Role, Status
from core.models import Article, ReplySubscription, Submission
from intake import create_app
from intake.api_access import ORIGINS_EXTENSION
from tests.e2e.conftest import (
    LiveServer,
    Visitor,
    accessibility_problems,
    add_article,
    add_staff,
    log_in,
    serve,
    status_of,
    wait_checked,
)
from tests.support import Process, wait_for

pytestmark = pytest.mark.browser

OUTLET_FILES = Path(__file__).resolve().parent / "outlet"
COMMENT = "Aquí en Centro Habana llevamos tres días con cortes de doce horas."
REPLY = "En el Vedado igual: desde el lunes sin corriente por las tardes."
# A comment's own text, not its replies'.
OWN_TEXT = ":scope > .tl-entry > .tl-body"
CLEAN = "Gracias por el reportaje, muy claro y bien documentado."


@dataclass
class Outlet:
    """A news outlet's site on its own local origin, whose article pages embed the thread."""

    server: ThreadingHTTPServer

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def article_url(self, key: str, lang: str = "es") -> str:
        return f"{self.origin}/noticias/{key}?lang={lang}"


def outlet_handler(public_url: str) -> type[BaseHTTPRequestHandler]:
    """A request handler serving the outlet's article page (embedding `public_url`) and CSS."""
    page = Template((OUTLET_FILES / "article.html").read_text(encoding="utf-8"))
    css = (OUTLET_FILES / "outlet.css").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/outlet.css":
                self.answer(css, "text/css")
            elif parts.path.startswith("/noticias/"):
                key = unquote(parts.path.removeprefix("/noticias/"))
                lang = parse_qs(parts.query).get("lang", ["es"])[0]
                origin = f"http://127.0.0.1:{self.server.server_port}"
                html = page.substitute(
                    lang=lang,
                    key=key,
                    public=public_url,
                    origin=origin,
                    title="Nuevos apagones en La Habana",
                    section="Comentarios" if lang == "es" else "Comments",
                )
                self.answer(html.encode(), "text/html; charset=utf-8")
            elif parts.path == "/favicon.ico":
                self.answer(b"", "image/x-icon")
            else:
                self.send_error(404)

        def answer(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output quiet

    return Handler


@pytest.fixture
def outlets(public_site: LiveServer) -> Iterator[Callable[..., Outlet]]:
    """Starts outlet sites (each on its own port) embedding the public site; stopped after."""
    started: list[Outlet] = []

    def start(public_url: str = public_site.url) -> Outlet:
        server = ThreadingHTTPServer(("127.0.0.1", 0), outlet_handler(public_url))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(Outlet(server))
        return started[-1]

    yield start
    for outlet in started:
        outlet.server.shutdown()
        outlet.server.server_close()


def allow(session: Session, public_site: LiveServer, *origins: str) -> None:
    """Let `origins` embed the thread, at once (the public site re-reads the list every 5 s)."""
    site_settings.save(session, None, "test", embed_origins="\n".join(origins))
    public_site.app.extensions[ORIGINS_EXTENSION].forget()


def words(public_site: LiveServer, lang: str) -> dict[str, Any]:
    """The embed's messages in `lang`, as the script gets them."""
    response = public_site.app.test_client().get(f"/embed/messages.json?locale={lang}")
    messages: dict[str, Any] = response.get_json()["messages"]
    return messages


def add_comment(
    session: Session,
    article: Article,
    name: str,
    body: str,
    *,
    parent: Submission | None = None,
    featured: bool = False,
    status: Status = Status.published,
    created_at: datetime | None = None,
) -> Submission:
    """A committed comment (or reply to `parent`) in `status`, as if checked and decided."""
    comment = Submission(
        kind=Kind.comment,
        status=status,
        article_id=article.id,
        author_name=name,
        body=body,
        parent_id=parent.id if parent else None,
        featured_at=utcnow() if featured else None,
    )
    if created_at is not None:
        comment.created_at = created_at
    session.add(comment)
    # The public site caches threads in Redis: what changes one drops its copy.
    thread_cache.touch(session, article.id)
    session.commit()
    return comment


def script_errors(reader: Visitor, *expected: int) -> list[str]:
    """The page's console errors (script errors, CSP refusals) but the `expected` HTTP answers."""
    answered = tuple(f"status of {code} " for code in expected)
    return [text for text in reader.console_errors if not any(a in text for a in answered)]


def thread(page: Page) -> Any:
    """The embedded thread (Playwright's locators reach into its open shadow root)."""
    return page.locator("#tipline-comments .tl")


def test_reader_replies_moderator_approves_reader_sees_the_reply(
    session: Session,
    public_site: LiveServer,
    staff_site: LiveServer,
    worker: Process,
    beat: Process,
    visitor: Callable[..., Visitor],
    outlets: Callable[..., Outlet],
) -> None:
    locale, lang = "es-ES", "es"
    w = words(public_site, lang)
    outlet = outlets()
    allow(session, public_site, outlet.origin)
    article = add_article(session, ModerationMode.pre, slug="apagones-habana")
    first = add_comment(session, article, "Yanelis", COMMENT)
    add_staff(session, "moderadora@example.org", Role.moderator)

    # The reader opens the outlet's article: the thread is there, in Spanish, with its count.
    reader = visitor(locale)
    page = reader.page
    page.goto(outlet.article_url(article.slug, lang))
    embed = thread(page)
    expect(embed.get_by_role("heading", name=w["count"]["one"].replace("{n}", "1"))).to_be_visible()
    entry = embed.locator(f"#tl-c-{first.id}")
    expect(entry.get_by_role("heading", name="Yanelis")).to_be_visible()
    expect(entry.locator(".tl-body")).to_have_text(COMMENT)
    expect(embed.get_by_text(w["premoderated"])).to_be_visible()
    # The outlet's stylesheet hides buttons and forms on its page, not inside the embed; its
    # colour for the thread does reach it.
    send = embed.get_by_role("button", name=w["send"])
    expect(send).to_be_visible()
    expect(send).to_have_css("background-color", "rgb(138, 21, 56)")

    # They reply to Yanelis's comment, in the form that opens under it.
    entry.get_by_role("button", name=w["reply"]).click()
    form = entry.locator("form")
    expect(embed.get_by_text(w["reply_heading"].replace("%(name)s", "Yanelis"))).to_be_visible()
    form.get_by_label(w["name"]).fill("Osmany")
    form.get_by_label(w["email"]).fill("osmany@example.org")
    form.get_by_label(w["notify"]).check()
    form.get_by_label(w["reply_body"]).fill(REPLY)
    form.get_by_role("button", name=w["send_reply"]).click()
    notice = entry.get_by_role("status")
    expect(notice).to_have_text(w["awaiting_review"])
    expect(notice).to_be_focused()
    expect(embed.get_by_text(REPLY)).to_have_count(0)

    reply = session.scalars(select(Submission).where(Submission.parent_id == first.id)).one()
    session.commit()
    assert reply.email_hash and reply.author_name == "Osmany"
    # They asked to hear of replies: the address is kept, sealed, and only then.
    subscription = session.scalars(
        select(ReplySubscription).where(ReplySubscription.submission_id == reply.id)
    ).one()
    session.commit()
    assert subscription.email_sealed and b"osmany@example.org" not in subscription.email_sealed
    assert wait_checked(session, reply.ref) is Status.pending

    # A moderator approves it from the pending queue on the staff site.
    moderator = visitor(locale)
    mod, staff = moderator.page, staff_site.t
    log_in(moderator, staff_site, "moderadora@example.org")
    row = mod.locator("ol.queue > li").filter(has_text=REPLY)
    expect(row).to_have_count(1)
    row.get_by_role("link", name=staff(locale, "Comment by %(name)s", name="Osmany")).click()
    mod.get_by_role("button", name=staff(locale, "Approve"), exact=True).click()
    expect(mod.get_by_role("status").first).to_contain_text(
        staff(locale, "Saved: the comment is now %(status)s.", status=staff(locale, "Published"))
    )
    assert status_of(session, reply.ref) is Status.published

    # The reader reloads the outlet's page: the reply is under Yanelis's comment.
    page.reload()
    embed = thread(page)
    expect(
        embed.get_by_role("heading", name=w["count"]["other"].replace("{n}", "2"))
    ).to_be_visible()
    shown = embed.locator(f"#tl-c-{first.id} .tl-replies #tl-c-{reply.id}")
    expect(shown.get_by_role("heading", name="Osmany")).to_be_visible()
    expect(shown.locator(".tl-body")).to_have_text(REPLY)
    expect(page.get_by_text("osmany@example.org")).to_have_count(0)
    assert not script_errors(reader), reader.console_errors


def test_a_clean_comment_appears_without_reload_on_a_post_moderated_article(
    session: Session,
    public_site: LiveServer,
    worker: Process,
    beat: Process,
    visitor: Callable[..., Visitor],
    outlets: Callable[..., Outlet],
) -> None:
    lang = "en"
    w = words(public_site, lang)
    outlet = outlets()
    allow(session, public_site, outlet.origin)
    article = add_article(session, ModerationMode.post, slug="zafra-2026")

    reader = visitor("en-US")
    page = reader.page
    page.goto(outlet.article_url(article.slug, lang))
    embed = thread(page)
    expect(embed.get_by_text(w["empty"])).to_be_visible()
    expect(embed.get_by_text(w["premoderated"])).to_have_count(0)

    # A bad comment first: the errors are shown by the fields, and in a summary.
    embed.get_by_role("button", name=w["send"]).click()
    summary = embed.get_by_role("alert")
    expect(summary).to_contain_text(w["error_summary"])
    expect(summary).to_be_focused()
    name = embed.get_by_label(w["name"])
    expect(name).to_have_attribute("aria-invalid", "true")

    name.fill("Reinaldo")
    embed.get_by_label(w["body"]).fill(CLEAN)
    embed.get_by_role("button", name=w["send"]).click()
    expect(summary).to_have_count(0)
    # The checks pass and it appears, without a reload, with the count.
    entry = embed.locator(".tl-list .tl-comment").filter(has_text=CLEAN)
    expect(entry).to_have_count(1, timeout=30_000)
    expect(entry.get_by_role("heading", name="Reinaldo")).to_be_visible()
    expect(embed.get_by_role("status").filter(has_text=w["published"])).to_be_visible()
    expect(embed.get_by_role("heading", name="1 comment")).to_be_visible()
    assert not script_errors(reader, 422), reader.console_errors


def test_an_unknown_site_is_refused(
    session: Session,
    public_site: LiveServer,
    visitor: Callable[..., Visitor],
    outlets: Callable[..., Outlet],
) -> None:
    allowed, copycat = outlets(), outlets()
    allow(session, public_site, allowed.origin)
    article = add_article(session, ModerationMode.post, slug="apagones-habana")
    add_comment(session, article, "Yanelis", COMMENT)
    w = words(public_site, "es")

    reader = visitor("es-ES")
    page = reader.page
    # A refused answer carries no CORS headers: Chromium fails the request before Playwright's
    # "response" event, so the answers are recorded on their way through.
    api_answers: list[int] = []

    def record(route: Route) -> None:
        answer = route.fetch()
        api_answers.append(answer.status)
        route.fulfill(response=answer)

    page.route("**/api/v1/**", record)
    page.goto(copycat.article_url(article.slug))
    expect(thread(page).get_by_text(w["error_forbidden"])).to_be_visible()
    expect(thread(page).get_by_text(COMMENT)).to_have_count(0)
    assert api_answers and set(api_answers) == {403}, api_answers
    # Nor can a copied page register its own articles.
    page.goto(copycat.article_url("robado"))
    expect(thread(page).get_by_text(w["error_forbidden"])).to_be_visible()
    assert session.scalar(select(Article).where(Article.slug == "robado")) is None
    session.commit()


def test_a_closed_article_shows_its_thread_and_no_form(
    session: Session,
    public_site: LiveServer,
    visitor: Callable[..., Visitor],
    outlets: Callable[..., Outlet],
) -> None:
    outlet = outlets()
    allow(session, public_site, outlet.origin)
    article = add_article(session, ModerationMode.closed, slug="cerrado")
    add_comment(session, article, "Yanelis", COMMENT)
    w = words(public_site, "es")

    page = visitor("es-ES").page
    page.goto(outlet.article_url(article.slug))
    embed = thread(page)
    expect(embed.get_by_text(COMMENT)).to_be_visible()
    expect(embed.get_by_text(w["closed"])).to_be_visible()
    expect(embed.locator("form")).to_have_count(0)
    expect(embed.get_by_role("button", name=w["reply"])).to_have_count(0)
    expect(embed.get_by_role("textbox")).to_have_count(0)


def test_a_new_article_is_registered_and_the_thread_fits_a_phone(
    session: Session,
    public_site: LiveServer,
    visitor: Callable[..., Visitor],
    outlets: Callable[..., Outlet],
) -> None:
    outlet = outlets()
    allow(session, public_site, outlet.origin)
    w = words(public_site, "es")

    # axe is injected inline, which the outlet's policy forbids: this context bypasses it.
    reader = visitor("es-ES", viewport={"width": 320, "height": 640}, bypass_csp=True)
    page = reader.page
    page.goto(outlet.article_url("nueva-nota"))
    embed = thread(page)
    expect(embed.get_by_text(w["empty"])).to_be_visible()

    # Registered on first sight with the page's canonical address and title.
    def registered() -> Article | None:
        found = session.scalar(select(Article).where(Article.slug == "nueva-nota"))
        session.commit()
        return found

    article = wait_for(registered, timeout=5, what="the article to be registered")
    assert article is not None
    assert article.url == f"{outlet.origin}/noticias/nueva-nota"
    assert article.title == "Nuevos apagones en La Habana"

    # Give it a thread to look at: a featured comment, a comment with a reply and a removed one.
    first = add_comment(session, article, "Yanelis", COMMENT + " https://example.org/" + "x" * 80)
    add_comment(session, article, "Osmany", REPLY, parent=first)
    add_comment(
        session, article, "Moderado", "Fuera de tono.", parent=first, status=Status.rejected
    )
    add_comment(session, article, "Redacción", CLEAN, featured=True)
    page.reload()
    embed = thread(page)
    expect(embed.locator(".tl-featured").get_by_text(w["featured"], exact=True)).to_be_visible()
    expect(embed.get_by_text(w["reply_removed"])).to_be_visible()
    embed.locator(".tl-comment").first.get_by_role("button", name=w["report"]).click()
    expect(embed.get_by_role("group", name=w["report_heading"])).to_be_visible()

    # Nothing wider than the phone, and every button big enough for a finger.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"the page scrolls sideways: {width}px wide"
    buttons = embed.locator("button:visible, select:visible")
    for index in range(buttons.count()):
        box = buttons.nth(index).bounding_box()
        assert box is not None
        assert box["height"] >= 44 and box["width"] >= 44, (buttons.nth(index).inner_text(), box)

    problems = accessibility_problems(page, "the embedded thread")
    assert not problems, "\n".join(problems)


def test_more_comments_more_replies_and_another_order(
    session: Session,
    public_site: LiveServer,
    visitor: Callable[..., Visitor],
    outlets: Callable[..., Outlet],
) -> None:
    outlet = outlets()
    allow(session, public_site, outlet.origin)
    article = add_article(session, ModerationMode.post, slug="largo")
    start = utcnow() - timedelta(hours=2)
    comments = [
        add_comment(
            session,
            article,
            f"Lector {n}",
            f"Comentario número {n}.",
            created_at=start + timedelta(minutes=n),
        )
        for n in range(1, 23)
    ]
    newest = comments[-1]
    session.add_all(
        Submission(
            kind=Kind.comment,
            status=Status.published,
            article_id=article.id,
            author_name=f"Vecino {n}",
            body=f"Respuesta número {n}.",
            parent_id=newest.id,
            created_at=start + timedelta(hours=1, minutes=n),
        )
        for n in range(1, 53)
    )
    thread_cache.touch(session, article.id)
    session.commit()
    w = words(public_site, "en")

    page = visitor("en-US").page
    page.goto(outlet.article_url(article.slug, "en"))
    embed = thread(page)
    expect(embed.get_by_role("heading", name="74 comments")).to_be_visible()
    top = embed.locator(".tl-list > .tl-comment")
    expect(top).to_have_count(20)
    expect(top.first.locator(OWN_TEXT)).to_have_text("Comentario número 22.")

    # The newest comment shows 50 of its replies, oldest first, and fetches the rest.
    replies = embed.locator(f"#tl-c-{newest.id} .tl-reply")
    expect(replies).to_have_count(50)
    expect(replies.first.locator(".tl-body")).to_have_text("Respuesta número 1.")
    embed.get_by_role("button", name=w["more_replies"]).click()
    expect(replies).to_have_count(52)
    expect(replies.last.locator(".tl-body")).to_have_text("Respuesta número 52.")
    expect(embed.get_by_role("button", name=w["more_replies"])).to_have_count(0)

    # The next page of comments, where the reader's focus goes.
    embed.get_by_role("button", name=w["load_more"]).click()
    expect(top).to_have_count(22)
    expect(top.nth(20).locator(":scope > .tl-entry")).to_be_focused()
    expect(top.last.locator(OWN_TEXT)).to_have_text("Comentario número 1.")
    expect(embed.get_by_role("button", name=w["load_more"])).to_be_hidden()

    # Oldest first: the first page again, in the other order; a draft is kept.
    embed.get_by_label(w["body"]).fill("Un borrador")
    embed.get_by_label(w["order_label"]).select_option("oldest")
    expect(top.first.locator(OWN_TEXT)).to_have_text("Comentario número 1.")
    expect(top).to_have_count(20)
    expect(embed.get_by_label(w["body"])).to_have_value("Un borrador")


def test_an_outage_and_a_rate_limit_are_explained_never_a_blank_box(
    session: Session,
    settings: Settings,
    public_site: LiveServer,
    visitor: Callable[..., Visitor],
    outlets: Callable[..., Outlet],
) -> None:
    outlet = outlets()
    allow(session, public_site, outlet.origin)
    article = add_article(session, ModerationMode.post, slug="apagones-habana")
    add_comment(session, article, "Yanelis", COMMENT)
    w = words(public_site, "es")

    # The API cannot be reached: the reader is told, and can try again once it is back.
    page = visitor("es-ES").page
    page.route("**/api/v1/**", lambda route: route.abort())
    page.goto(outlet.article_url(article.slug))
    embed = thread(page)
    expect(embed.get_by_text(w["error_load"])).to_be_visible()
    page.unroute("**/api/v1/**")
    embed.get_by_role("button", name=w["retry"]).click()
    expect(embed.get_by_text(COMMENT)).to_be_visible()

    # A public site whose read limit this reader has used up: the 429 is put in words.
    strict = serve(create_app(settings.with_overrides(api_read_rate_limit="1 per minute")))
    try:
        strict_outlet = outlets(strict.url)
        allow(session, public_site, outlet.origin, strict_outlet.origin)
        allow(session, strict, outlet.origin, strict_outlet.origin)
        page.goto(strict_outlet.article_url(article.slug))
        expect(thread(page).get_by_text(COMMENT)).to_be_visible()
        page.reload()
        expect(thread(page).get_by_text(w["error_rate"])).to_be_visible()
    finally:
        strict.server.shutdown()
        strict.server.server_close()
