"""The "why" of a held comment in a real browser: every check's verdict, score, reason, version.

The comment is checked by the real checks (the configured ones, the classifier with its model
included), in this process, then a moderator opens it from the pending queue.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Settings
from core.enums import Kind, ModerationMode, Role, Status, Verdict
from core.models import Article, CheckResult, SpamModel, Submission
from moderation.display import check_label, check_reason, score, verdict_label
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
from tests.moderation.test_tuning import Comments
from worker.checking import check_submission
from worker.environment import forget

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
    pytest.mark.parametrize("locale", LOCALES),
]

# A reader's comment that the spam model finds suspect (a phone number, "call"), not spam; the
# article is pre-moderated, so it waits for a moderator whatever the checks say short of spam.
NAME = "Rolando"
TEXT = "El teléfono de la OBE para averías es el 7 866 6666, hay que insistir pero contestan."


def held_comment(session: Session, settings: Settings) -> list[CheckResult]:
    """A comment on a pre-moderated article, checked and held; its check results."""
    article = add_article(session, ModerationMode.pre)
    comment = Submission(kind=Kind.comment, article=article, author_name=NAME, body=TEXT)
    session.add(comment)
    session.commit()
    forget()  # read the model in use now, not one cached by another test
    assert check_submission(session, comment.id, settings) is Status.pending
    results = list(
        session.scalars(
            select(CheckResult)
            .where(CheckResult.submission_id == comment.id)
            .order_by(CheckResult.id)
        )
    )
    session.commit()  # end the read transaction: on SQLite it would block the staff site
    return results


def test_a_moderator_sees_why_a_comment_was_held(
    locale: str,
    session: Session,
    settings: Settings,
    staff_site: LiveServer,
    visitor: Callable[..., Visitor],
) -> None:
    results = held_comment(session, settings)
    assert {r.name for r in results} == {name.partition(":")[0] for name in settings.checks}
    add_staff(session, "moderadora@example.org", Role.moderator)
    t = staff_site.t

    def shown(make: Callable[[], object]) -> str:
        return staff_site.render(locale, make)

    moderator = visitor(locale)
    page = moderator.page
    log_in(moderator, staff_site, "moderadora@example.org")
    row = page.locator("ol.queue > li").filter(has_text=TEXT)
    row.get_by_role("link", name=t(locale, "Comment by %(name)s", name=NAME)).click()
    expect(page.locator("html")).to_have_attribute("lang", lang_of(locale))
    expect(page.locator(".full-text")).to_have_text(TEXT)

    table = page.locator("table.check-table")
    expect(table.locator("tbody tr")).to_have_count(len(results))
    for result in results:
        label = shown(partial(check_label, result.name))
        line = table.locator("tbody tr").filter(
            has=page.get_by_role("rowheader", name=label, exact=True)
        )
        expect(line).to_have_count(1)
        cells = line.locator("td")
        expect(cells.nth(0)).to_have_text(result.version)
        expect(cells.nth(1)).to_have_text(shown(partial(verdict_label, result.verdict)))
        expect(cells.nth(2)).to_have_text(shown(partial(score, result.score)))
        expect(cells.nth(3)).to_have_text(shown(partial(check_reason, result)))

    # The classifier: its probability and the model that gave it, and a way to that model.
    classifier = next(r for r in results if r.name == "classifier")
    model = str(classifier.reason_params["model"])
    note = t(
        locale,
        "The spam model %(model)s gave it a spam probability of %(probability)s.",
        model=model,
        probability=shown(partial(score, classifier.reason_params["probability"])),
    )
    expect(page.get_by_text(note)).to_be_visible()
    page.get_by_role("link", name=t(locale, "The spam model and its history")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t(locale, "Tuning: spam model"))


def test_the_tuning_pages_pass_axe(
    locale: str,
    session: Session,
    settings: Settings,
    staff_site: LiveServer,
    visitor: Callable[..., Visitor],
) -> None:
    held_comment(session, settings)
    staff = add_staff(session, "moderadora@example.org", Role.moderator)
    # A false positive (links held it, a moderator published it) and a retraining's models.
    article = session.scalars(select(Article)).first()
    assert article is not None
    Comments(session, article, staff).add(
        "Fuentes: https://a.example https://b.example https://c.example",
        [("links", Verdict.suspect), ("classifier", Verdict.ok)],
        held=Status.pending,
        now=Status.published,
    )
    figures = {"precision": 1.0, "recall": 0.9, "f1": 0.95, "ham_false_positive_rate": 0.0}
    session.add_all(
        [
            SpamModel(
                version="base-1",
                weights=b"-",
                promoted=True,
                trained_on={"kind": "base"},
                metrics={"incumbent": figures, "incumbent_caught": figures},
            ),
            SpamModel(
                version="local-20250101-000000",
                weights=b"-",
                active=True,
                promoted=True,
                trained_on={"kind": "local", "local_spam": 5, "local_ham": 20},
                metrics={
                    "candidate": figures,
                    "incumbent": figures,
                    "candidate_caught": figures,
                    "incumbent_caught": figures,
                    "incumbent_version": "base-1",
                },
            ),
        ]
    )
    session.commit()
    moderator = visitor(locale, bypass_csp=True)
    page = moderator.page
    log_in(moderator, staff_site, "moderadora@example.org")
    problems: list[str] = []
    for path in ("/tuning/checks", "/tuning/false-positives", "/tuning/model"):
        page.goto(staff_site.url + path)
        expect(page.locator("html")).to_have_attribute("lang", lang_of(locale))
        problems += accessibility_problems(page, f"{path} [{locale}]")
    page.goto(staff_site.url + "/tuning/checks")
    expect(page.locator("figure svg[role=img] rect").first).to_be_visible()
    assert problems == [], "\n".join(problems)
