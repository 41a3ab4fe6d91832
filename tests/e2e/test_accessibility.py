"""An axe-core scan of every page readers and staff use, in Spanish and English.

No violation of impact "serious" or "critical" is allowed; a failure lists every violation
found on the page, the minor ones too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from core.config import Settings
from core.crypto import seal
from core.db import utcnow
from core.enums import Kind, ModerationMode, Role, Status, Verdict
from core.models import Article, CheckResult, Submission
from tests.e2e.conftest import (
    LOCALES,
    LiveServer,
    Visitor,
    accessibility_problems,
    add_article,
    add_staff,
    lang_of,
    log_in,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
    pytest.mark.parametrize("locale", LOCALES),
]


def add_comment(
    session: Session,
    article: Article,
    name: str,
    body: str,
    status: Status,
    minutes_ago: int,
    checks: list[tuple[str, Verdict, str, dict[str, object]]] | None = None,
) -> Submission:
    """A committed comment as the worker would have left it."""
    created = utcnow() - timedelta(minutes=minutes_ago)
    comment = Submission(
        kind=Kind.comment,
        status=status,
        article_id=article.id,
        author_name=name,
        body=body,
        created_at=created,
        updated_at=created,
    )
    for check, verdict, reason, params in checks or []:
        comment.check_results.append(
            CheckResult(
                name=check,
                version="1",
                verdict=verdict,
                score=0.5,
                reason=reason,
                reason_params=params,
            )
        )
    session.add(comment)
    session.commit()
    return comment


def scan(page: Page, locale: str, what: str, problems: list[str]) -> None:
    """Check the page is in the right language, then add axe's findings to `problems`."""
    expect(page.locator("html")).to_have_attribute("lang", lang_of(locale))
    problems.extend(accessibility_problems(page, f"{what} [{locale}]"))


def test_public_pages_pass_axe(
    locale: str,
    session: Session,
    public_site: LiveServer,
    visitor: Callable[..., Visitor],
) -> None:
    article = add_article(session, ModerationMode.pre)
    add_comment(
        session, article, "Yanelis", "Aquí llevamos tres días sin luz.", Status.published, 30
    )
    add_comment(
        session,
        article,
        "Rolando",
        "En Diez de Octubre igual.\n\nMás datos en https://example.org/apagones",
        Status.published,
        10,
    )
    t = public_site.t
    reader = visitor(locale, bypass_csp=True)
    page = reader.page
    problems: list[str] = []

    page.goto(public_site.url)
    scan(page, locale, "home page", problems)

    page.goto(f"{public_site.url}/articles/{article.slug}")
    expect(page.locator(".comment-list .comment")).to_have_count(2)
    scan(page, locale, "article with comments and an empty form", problems)

    # A comment with no name, a bad address and one character: errors next to each field.
    page.get_by_label(t(locale, "E-mail (optional)")).fill("not-an-address")
    page.get_by_label(t(locale, "Your comment")).fill("x")
    page.get_by_role("button", name=t(locale, "Send comment")).click()
    expect(page.locator(".field__error")).to_have_count(3)
    expect(page.get_by_label(t(locale, "E-mail (optional)"))).to_have_value("not-an-address")
    scan(page, locale, "article after a failed comment", problems)

    # A comment that is taken: its receipt.
    page.get_by_label(t(locale, "Display name")).fill("Yanelis")
    page.get_by_label(t(locale, "E-mail (optional)")).fill("")
    page.get_by_label(t(locale, "Your comment")).fill("Gracias por contarlo.")
    page.get_by_role("button", name=t(locale, "Send comment")).click()
    expect(page.locator(".reference__code")).to_be_visible()
    scan(page, locale, "comment receipt", problems)

    page.goto(f"{public_site.url}/tip")
    scan(page, locale, "tip form", problems)

    page.get_by_role("button", name=t(locale, "Send tip")).click()
    expect(page.locator(".field__error")).to_have_count(1)
    scan(page, locale, "tip form with errors", problems)

    page.get_by_label(t(locale, "What do you want to tell us?")).fill(
        "En el policlínico venden los turnos a 500 pesos."
    )
    page.get_by_role("button", name=t(locale, "Send tip")).click()
    # The receipt reference and the codename, shown once (intake.sources).
    expect(page.locator(".reference__code")).to_have_count(2)
    scan(page, locale, "tip receipt with codename", problems)

    page.goto(f"{public_site.url}/tip/return")
    scan(page, locale, "tipster's return form", problems)

    response = page.goto(f"{public_site.url}/articles/no-such-article")
    assert response is not None and response.status == 404
    scan(page, locale, "404 page", problems)

    assert not problems, "\n".join(problems)


def test_staff_pages_pass_axe(
    locale: str,
    session: Session,
    settings: Settings,
    staff_site: LiveServer,
    visitor: Callable[..., Visitor],
) -> None:
    article = add_article(session, ModerationMode.pre)
    held = add_comment(
        session,
        article,
        "Rolando",
        "Vendo recargas baratas https://a.example.org https://b.example.org https://c.example.org",
        Status.pending,
        20,
        [
            ("length", Verdict.ok, "length %(length)d", {"length": 88}),
            (
                "links",
                Verdict.suspect,
                "links: %(count)d, more than the limit of %(max)d",
                {"count": 3, "max": 2},
            ),
        ],
    )
    add_comment(
        session,
        article,
        "Yanelis",
        "Aquí llevamos tres días sin luz. " * 12,
        Status.pending,
        5,
        [("length", Verdict.ok, "length %(length)d", {"length": 396})],
    )
    tip = Submission(
        kind=Kind.tip,
        status=Status.new,
        sealed=seal(
            settings.tip_public_key,
            {"text": "En el policlínico venden los turnos.", "contact": "Signal", "name": ""},
        ),
    )
    session.add(tip)
    session.commit()
    add_staff(session, "editora@example.org", Role.editor)
    t = staff_site.t
    editor = visitor(locale, bypass_csp=True)
    page = editor.page
    problems: list[str] = []

    page.goto(f"{staff_site.url}/login")
    scan(page, locale, "login page", problems)

    page.get_by_label(t(locale, "E-mail")).fill("editora@example.org")
    page.get_by_label(t(locale, "Password")).fill("wrong password, wrong")
    page.get_by_role("button", name=t(locale, "Log in")).click()
    expect(page.get_by_role("alert")).to_be_visible()
    scan(page, locale, "login page after a failed login", problems)

    log_in(editor, staff_site, "editora@example.org")
    expect(page.locator("ol.queue > li")).to_have_count(2)
    scan(page, locale, "pending queue", problems)

    page.goto(f"{staff_site.url}/submissions/{held.id}")
    scan(page, locale, "comment view", problems)

    # After a decision: the flash message and the next comment waiting.
    page.get_by_role("button", name=t(locale, "Reject"), exact=True).click()
    expect(page.get_by_role("status").first).to_be_visible()
    scan(page, locale, "comment view after a decision", problems)

    page.goto(f"{staff_site.url}/tips")
    expect(page.locator("table.tip-list tbody tr")).to_have_count(1)
    scan(page, locale, "tips list", problems)

    page.goto(f"{staff_site.url}/tips/{tip.id}")
    scan(page, locale, "tip view", problems)

    page.goto(f"{staff_site.url}/queue?status=spam")
    scan(page, locale, "empty queue", problems)

    assert not problems, "\n".join(problems)
