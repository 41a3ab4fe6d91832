"""Browser tests' fixtures: both apps over real HTTP, headless Chromium, and shared helpers.

Helpers: a browser context per visitor (its language, what its page did), articles and staff
accounts, logging in through the form, waiting for the worker, the axe-core scan.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_babel import gettext
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, make_server

from core.enums import ModerationMode, Role, Status
from core.models import Article, CheckResult, StaffUser, Submission
from core.staff import create_staff_user
from moderation.display import check_reason
from tests.support import wait_for
from tipline.demo import DEMO_ARTICLE_BODY, DEMO_ARTICLE_SLUG, DEMO_ARTICLE_TITLE

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The browser languages the tests run in: our first newsroom's readers, and English.
LOCALES = ("es-ES", "en-US")
PASSWORD = "correct horse battery staple"
# How long a browser action or assertion waits before failing.
TIMEOUT_MS = 15_000


@dataclass
class LiveServer:
    """A Flask app served over HTTP on a free loopback port, in a thread."""

    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def t(self, locale: str, message: str, **params: Any) -> str:
        """`message` as this app shows it to a browser asking for `locale` (its own catalog)."""
        return self.render(locale, lambda: gettext(message, **params))

    def render(self, locale: str, make_text: Callable[[], Any]) -> str:
        """What `make_text` gives inside a request from a browser asking for `locale`."""
        with self.app.test_request_context("/", headers={"Accept-Language": locale}):
            return str(make_text())


def serve(app: Flask) -> LiveServer:
    """Start serving `app`; stop it with `server.shutdown()`."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return LiveServer(app=app, server=server, thread=thread)


@pytest.fixture
def public_site(intake_app: Flask) -> Iterator[LiveServer]:
    """The public site over real HTTP."""
    live = serve(intake_app)
    yield live
    live.server.shutdown()
    live.server.server_close()


@pytest.fixture
def staff_site(moderation_app: Flask) -> Iterator[LiveServer]:
    """The staff site over real HTTP."""
    live = serve(moderation_app)
    yield live
    live.server.shutdown()
    live.server.server_close()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless (Playwright's own browser downloads are not used)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (the test command does)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Visitor:
    """One person's browser window: its page, and what the page did that a test may check."""

    context: BrowserContext
    page: Page
    locale: str
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


@pytest.fixture
def visitor(browser: Browser) -> Iterator[Callable[..., Visitor]]:
    """Opens a browser context (its own cookies) and page per call; all closed after the test."""
    # `locale` sets both the browser's locale and its Accept-Language header, so each test
    # chooses the language it reads rather than depending on the sites' default.
    contexts: list[BrowserContext] = []

    def open_visitor(locale: str = "en-US", **options: Any) -> Visitor:
        context = browser.new_context(locale=locale, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        seen = Visitor(context=context, page=page, locale=locale)

        def on_dialog(dialog: Any) -> None:
            seen.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("request", lambda request: seen.requests.append(request.url))
        page.on(
            "console",
            lambda msg: seen.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        return seen

    yield open_visitor
    for context in contexts:
        context.close()


def lang_of(locale: str) -> str:
    """The language code the sites should pick for a browser locale ("es-ES" -> "es")."""
    return locale.split("-")[0]


def add_article(
    session: Session,
    mode: ModerationMode,
    slug: str = DEMO_ARTICLE_SLUG,
    title: str = DEMO_ARTICLE_TITLE,
    body: str = DEMO_ARTICLE_BODY,
) -> Article:
    """A committed article like the demo one, in moderation `mode`."""
    article = Article(slug=slug, title=title, body=body, mode=mode)
    session.add(article)
    session.commit()
    return article


def add_staff(session: Session, email: str, role: Role) -> StaffUser:
    """A committed staff account with the tests' password."""
    user = create_staff_user(session, email, PASSWORD, role)
    session.commit()
    return user


def status_of(session: Session, ref: str) -> Status | None:
    """The committed status of the submission with receipt `ref`, if it exists."""
    # A column, not an object: nothing is expired, so touching an object the test holds (an
    # article's title) never opens a transaction behind its back. On SQLite every transaction
    # of this session begins IMMEDIATE and holds the write lock, which would stop the worker
    # and the sites from writing: commit ends it at once.
    status = session.scalar(select(Submission.status).where(Submission.ref == ref))
    session.commit()
    return status


def wait_checked(session: Session, ref: str, timeout: float = 30.0) -> Status:
    """Wait until the worker has checked the submission `ref`; its status then."""

    def checked() -> Status | None:
        status = status_of(session, ref)
        return None if status is Status.received else status

    status = wait_for(checked, timeout=timeout, what=f"submission {ref} to be checked")
    assert status is not None
    return status


def check_reasons(session: Session, staff_site: LiveServer, locale: str, ref: str) -> list[str]:
    """The reasons of the checks of submission `ref`, as the staff site words them in `locale`."""
    query = select(CheckResult).join(Submission).where(Submission.ref == ref)
    results = session.scalars(query.order_by(CheckResult.id)).all()
    session.commit()  # end the read transaction (see status_of)
    return [staff_site.render(locale, partial(check_reason, result)) for result in results]


def log_in(user: Visitor, staff_site: LiveServer, email: str, password: str = PASSWORD) -> None:
    """Log in on the staff site through its form, as a person would."""
    page, t = user.page, staff_site.t
    page.goto(f"{staff_site.url}/login")
    page.get_by_label(t(user.locale, "E-mail")).fill(email)
    page.get_by_label(t(user.locale, "Password")).fill(password)
    page.get_by_role("button", name=t(user.locale, "Log in")).click()
    expect(page.get_by_role("button", name=t(user.locale, "Log out"))).to_be_visible()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; the violations it finds."""
    # The script is injected inline, which the sites' CSP forbids: contexts that scan are
    # opened with bypass_csp=True.
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: npm install axe-core@4 (the test command does)")
    page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = page.evaluate("async () => (await axe.run()).violations")
    return violations


def accessibility_problems(page: Page, what: str) -> list[str]:
    """Every axe violation on the page, listed, if one is serious or critical; else nothing."""
    violations = axe_violations(page)
    if not any(v.get("impact") in ("serious", "critical") for v in violations):
        return []
    lines = [f"{what} ({page.url}):"]
    for v in violations:
        targets = [" ".join(node["target"]) for node in v["nodes"]][:5]
        lines.append(f"- [{v['impact']}] {v['id']}: {v['help']} at {targets}")
        for node in v["nodes"][:3]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {summary}")
    return lines
