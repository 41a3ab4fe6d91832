"""Finding things in the comment queue: filters, full-text search, and pages that keep them."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.enums import Kind, Status, Verdict
from core.models import Article, CheckResult, StaffUser, Submission
from moderation.review import PER_PAGE
from tests.moderation.conftest import login

MakeComment = Callable[..., Submission]

_ROW = re.compile(r'<h2 id="submission-(\d+)-title"')
_NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


def rows(html: str) -> list[int]:
    """The ids of the comments a queue page lists, in order."""
    return [int(found) for found in _ROW.findall(html)]


def next_link(html: str) -> str | None:
    """The page's "Next page" link, if it has one."""
    found = _NEXT.search(html)
    return html_lib.unescape(found.group(1)) if found else None


def notices(html: str) -> list[str]:
    """The error notices the page shows."""
    return re.findall(r'<p class="notice notice-error" role="alert">([^<]*)</p>', html)


def fired(submission: Submission, name: str, verdict: Verdict) -> Submission:
    """Add a check result to a (not yet committed) submission."""
    submission.check_results.append(
        CheckResult(name=name, version="1", verdict=verdict, score=0.5, reason="r")
    )
    return submission


@pytest.fixture
def other_article(session: Session) -> Article:
    """A second article."""
    article = Article(slug="elecciones", title="Elecciones municipales")
    session.add(article)
    session.commit()
    return article


@pytest.fixture
def logged_in(client: FlaskClient, moderator: StaffUser) -> FlaskClient:
    """The staff client, logged in as a moderator."""
    login(client, "mod@example.org")
    return client


def test_article_filter_by_slug_or_number(
    logged_in: FlaskClient,
    session: Session,
    make_comment: MakeComment,
    other_article: Article,
) -> None:
    on_first = make_comment("sobre los apagones")
    on_other = make_comment("sobre las elecciones")
    on_other.article_id = other_article.id
    session.commit()

    assert rows(logged_in.get("/queue").text) == [on_first.id, on_other.id]
    by_slug = logged_in.get("/queue?article=elecciones").text
    assert rows(by_slug) == [on_other.id]
    assert "Comments on “Elecciones municipales”." in by_slug
    assert rows(logged_in.get(f"/queue?article={other_article.id}").text) == [on_other.id]
    # The form suggests the articles by slug, titled.
    assert '<option value="elecciones">Elecciones municipales</option>' in by_slug


def test_check_that_fired_filter(
    logged_in: FlaskClient, session: Session, make_comment: MakeComment
) -> None:
    links_suspect = make_comment("enlaces", check=(Verdict.suspect, "r", {}))
    words_spam = make_comment("palabras")
    fired(words_spam, "words", Verdict.spam)
    links_ok = make_comment("bien", check=(Verdict.ok, "r", {}))
    unchecked = make_comment("sin revisar")
    session.commit()
    everything = [links_suspect.id, words_spam.id, links_ok.id, unchecked.id]
    assert rows(logged_in.get("/queue").text) == everything

    # A check "fired" when it said anything but OK.
    assert rows(logged_in.get("/queue?check=links").text) == [links_suspect.id]
    assert rows(logged_in.get("/queue?check=links&verdict=suspect").text) == [links_suspect.id]
    assert rows(logged_in.get("/queue?check=links&verdict=spam").text) == []
    assert rows(logged_in.get("/queue?check=words").text) == [words_spam.id]
    # A verdict alone: any check that said it.
    assert rows(logged_in.get("/queue?verdict=spam").text) == [words_spam.id]
    assert rows(logged_in.get("/queue?verdict=suspect").text) == [links_suspect.id]


def test_language_filter(
    logged_in: FlaskClient, session: Session, make_comment: MakeComment
) -> None:
    spanish = make_comment("hola a todos")
    english = make_comment("hello everyone")
    english.locale = "en"
    session.commit()
    only_english = logged_in.get("/queue?language=en").text
    assert rows(only_english) == [english.id]
    assert "1 matching." in only_english
    assert rows(logged_in.get("/queue?language=es").text) == [spanish.id]


def test_date_range_is_whole_utc_days_both_included(
    logged_in: FlaskClient, make_comment: MakeComment
) -> None:
    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    make_comment("before", at=at("2026-03-01T23:59:59.999999"))
    first = make_comment("first day", at=at("2026-03-02T00:00:00"))
    last = make_comment("last day", at=at("2026-03-03T23:59:59.999999"))
    make_comment("after", at=at("2026-03-04T00:00:00"))

    assert rows(logged_in.get("/queue?from=2026-03-02&to=2026-03-03").text) == [first.id, last.id]
    assert rows(logged_in.get("/queue?from=2026-03-03&to=2026-03-03").text) == [last.id]
    assert len(rows(logged_in.get("/queue?from=2026-03-02").text)) == 3
    assert len(rows(logged_in.get("/queue?to=2026-03-03").text)) == 3


def test_search_finds_words_and_prefixes(logged_in: FlaskClient, make_comment: MakeComment) -> None:
    blackout = make_comment("Otro apagón en Centro Habana, sin luz desde ayer")
    water = make_comment("Tampoco hay agua en el barrio")

    assert rows(logged_in.get("/queue?q=apagón").text) == [blackout.id]
    assert rows(logged_in.get("/queue?q=APAGÓN").text) == [blackout.id]
    # A word also finds the longer words it starts.
    assert rows(logged_in.get("/queue?q=apag").text) == [blackout.id]
    # Every word must appear.
    assert rows(logged_in.get("/queue?q=luz+habana").text) == [blackout.id]
    assert rows(logged_in.get("/queue?q=luz+agua").text) == []
    assert rows(logged_in.get("/queue?q=agua").text) == [water.id]
    # Both backends fold accents: readers and moderators do not always type them.
    assert rows(logged_in.get("/queue?q=apagon").text) == [blackout.id]


# Query syntax is read as plain words: operators are words a comment must contain too.
SYNTAX_TERMS = {
    '"apagón': True,
    "apag*": True,
    "apagón AND luz": False,
    "apagón OR": False,
    "(apagón)": True,
    "apagón:*": True,
    "apagón & luz": True,
    "!apagón": True,
    "apagón | luz": True,
    "NEAR(apagón luz)": False,
    "body:apagón": False,
    "-apagón": True,
    "'apagón'": True,
    "apagón\\": True,
    "^apagón": True,
    "apagón <-> luz": True,
    "' OR 1=1 --": False,
}


def test_search_syntax_characters_are_plain_text(
    logged_in: FlaskClient, make_comment: MakeComment
) -> None:
    blackout = make_comment("Otro apagón en Centro Habana, sin luz desde ayer")
    make_comment("Tampoco hay agua")
    for term, found in SYNTAX_TERMS.items():
        response = logged_in.get("/queue", query_string={"q": term})
        assert response.status_code == 200, term
        assert rows(response.text) == ([blackout.id] if found else []), term
        assert notices(response.text) == [], term


def test_a_search_without_words_is_ignored_with_a_message(
    logged_in: FlaskClient, make_comment: MakeComment
) -> None:
    make_comment("uno")
    make_comment("dos")
    for term in ('"', "*", "()", ":&!|", "' --"):
        response = logged_in.get("/queue", query_string={"q": term})
        assert response.status_code == 200, term
        assert len(rows(response.text)) == 2, term
        assert any("has no words to search for" in notice for notice in notices(response.text))


def test_bad_values_are_ignored_with_a_message_each(
    logged_in: FlaskClient, make_comment: MakeComment
) -> None:
    make_comment("uno")
    make_comment("dos")
    response = logged_in.get(
        "/queue?article=no-such-article&check=nope&language=fr&from=2026-13-45&to=yesterday"
    )
    assert response.status_code == 200
    assert len(rows(response.text)) == 2
    shown = " ".join(notices(response.text))
    assert "There is no article “no-such-article”" in shown
    assert "Unknown check “nope”" in shown
    assert "Unknown language “fr”" in shown
    assert "“2026-13-45” is not a date" in shown and "“yesterday” is not a date" in shown
    # What was typed stays in the form, to be corrected.
    assert 'value="2026-13-45"' in response.text

    reversed_dates = logged_in.get("/queue?from=2026-03-05&to=2026-03-01&verdict=ok")
    assert reversed_dates.status_code == 200
    assert len(rows(reversed_dates.text)) == 2
    shown = " ".join(notices(reversed_dates.text))
    assert "The end date is before the start date" in shown
    assert "Unknown verdict “ok”" in shown

    # Huge and odd values are no error either.
    odd = logged_in.get(
        "/queue",
        query_string={
            "article": "9" * 400,
            "from": "0001-01-01",
            "to": "9999-12-31",
            "q": "x" * 5000,
            "after": "nonsense",
        },
    )
    assert odd.status_code == 200


def test_the_form_is_labelled_and_keeps_tab_and_order(
    logged_in: FlaskClient, make_comment: MakeComment
) -> None:
    make_comment("uno")
    html = logged_in.get("/queue?status=spam&order=oldest&q=uno&language=es").text
    assert '<input type="search" id="search" name="q" value="uno"' in html
    assert '<label for="search">' in html
    for field in ("filter-article", "filter-check", "filter-verdict", "filter-language"):
        assert f'<label for="{field}">' in html and f'id="{field}"' in html
    assert '<input type="hidden" name="status" value="spam">' in html
    assert '<input type="hidden" name="order" value="oldest">' in html
    assert '<a href="/queue?status=spam&amp;order=oldest">Clear filters</a>' in html
    # The tabs and the order switch keep the filters.
    assert 'href="/queue?status=pending&amp;language=es&amp;q=uno"' in html
    assert 'href="/queue?status=spam&amp;order=newest&amp;language=es&amp;q=uno"' in html


def test_combined_filters_page_through_without_repeats_or_gaps(
    logged_in: FlaskClient,
    session: Session,
    make_comment: MakeComment,
    other_article: Article,
) -> None:
    base = datetime(2026, 3, 2, 12, tzinfo=UTC)
    expected: list[int] = []
    for n in range(PER_PAGE * 2 + 20):
        # Several rows share a time, so the id must break ties at the page boundaries.
        created = base + timedelta(minutes=n // 3)
        matching = n % 4 != 0
        submission = Submission(
            kind=Kind.comment,
            status=Status.pending if n % 5 else Status.reported,
            article_id=other_article.id if matching else None,
            locale="en" if matching else "es",
            author_name="Ana",
            body=f"power cut number {n}" if n % 7 else f"water cut number {n}",
            created_at=created,
            updated_at=created,
        )
        fired(submission, "links", Verdict.suspect)
        session.add(submission)
        session.flush()
        if matching and n % 7:
            expected.append(submission.id)
    session.commit()
    assert len(expected) > PER_PAGE + 1  # more than one page, in "All"

    query = "status=all&article=elecciones&check=links&language=en&q=powe&from=2026-03-02"
    for order, wanted in (("oldest", expected), ("newest", expected[::-1])):
        url: str | None = f"/queue?{query}&order={order}"
        seen: list[int] = []
        pages = 0
        while url:
            html = logged_in.get(url).text
            seen.extend(rows(html))
            pages += 1
            url = next_link(html)
            if url:
                for kept in ("article=elecciones", "check=links", "language=en", "q=powe"):
                    assert kept in url
                assert f"order={order}" in url
        assert pages == 2
        assert seen == wanted

    first = logged_in.get(f"/queue?{query}").text
    assert f"More than {PER_PAGE} matching." in first
