"""Receipts: the reference and what happens next, never the content, never "caught as spam"."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.enums import Status
from tests.intake.helpers import COMMENT, TIP, add_article, add_comment, html, post_tip, submissions

EN = {"Accept-Language": "en"}


def _main(page: str) -> str:
    return page[page.index("<main") : page.index("</main>")]


def test_a_published_comments_receipt_says_so_and_links_to_the_article(
    intake_client: FlaskClient, session: Session
) -> None:
    article = add_article(session)
    comment = add_comment(session, article, status=Status.published)

    page = html(intake_client.get(f"/receipts/{comment.ref}", headers=EN))

    assert "your comment is published" in page
    assert comment.ref in page
    assert 'href="/articles/la-zafra"' in _main(page)
    assert COMMENT not in page


def test_spam_looks_exactly_like_a_comment_awaiting_review(
    intake_client: FlaskClient, session: Session
) -> None:
    article = add_article(session)
    pages = {}
    for status in (Status.received, Status.pending, Status.spam, Status.rejected):
        comment = add_comment(session, article, status=status, body=f"Texto {status.value}")
        response = intake_client.get(f"/receipts/{comment.ref}", headers=EN)
        assert response.status_code == 200
        page = html(response)
        assert f"Texto {status.value}" not in page
        pages[status] = page.replace(comment.ref, "REF")

    assert "your comment was received" in pages[Status.spam]
    assert "being checked" in pages[Status.spam]
    assert "spam" not in pages[Status.spam].lower()
    assert len(set(pages.values())) == 1


def test_a_tips_receipt_says_received_with_guidance_and_never_the_content(
    quiet_client: FlaskClient, session: Session
) -> None:
    response = post_tip(quiet_client, contact="fuente@example.org", name="Fuente")
    [tip] = submissions(session)

    page = html(quiet_client.get(response.headers["Location"], headers=EN))

    assert "your tip was received" in page
    assert tip.ref in page
    assert "Keep this reference" in page
    for secret in (TIP[:20], "fuente@example.org", "Fuente<"):
        assert secret not in page


def test_a_tip_marked_spam_still_reads_received(
    quiet_client: FlaskClient, session: Session
) -> None:
    post_tip(quiet_client)
    [tip] = submissions(session)
    before = html(quiet_client.get(f"/receipts/{tip.ref}", headers=EN))
    tip.status = Status.spam  # arranged as if the checks had caught it
    session.commit()
    after = html(quiet_client.get(f"/receipts/{tip.ref}", headers=EN))
    assert before == after


def test_references_are_read_case_insensitively(
    intake_client: FlaskClient, session: Session
) -> None:
    comment = add_comment(session, add_article(session))
    response = intake_client.get(f"/receipts/{comment.ref.lower()}", headers=EN)
    assert response.status_code == 200
    assert comment.ref in html(response)


def test_an_unknown_reference_is_a_404_page(intake_client: FlaskClient, session: Session) -> None:
    add_comment(session, add_article(session))
    for ref in ("ZZZZZZZZZZ", "short", "X" * 300):
        response = intake_client.get(f"/receipts/{ref}", headers=EN)
        assert response.status_code == 404
        assert "Page not found" in html(response)
