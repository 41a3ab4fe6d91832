"""Readers' reports of published comments: the form, what is stored, the threshold, the limits."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core import site_settings
from core.config import Settings
from core.enums import FlagReason, Status
from core.models import Article, AuditEvent, Flag, Submission
from core.privacy import ip_hash
from tests.intake.helpers import COMMENT, add_article, add_comment, html, token

EN = {"Accept-Language": "en"}


@pytest.fixture
def client(intake_client: FlaskClient) -> FlaskClient:
    """The public site's client, reading English."""
    intake_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return intake_client


def report_path(comment: Submission, slug: str = "la-zafra") -> str:
    """Where the report form of `comment` lives."""
    return f"/articles/{slug}/comments/{comment.id}/report"


def report(
    client: FlaskClient,
    comment: Submission,
    address: str = "127.0.0.1",
    **fields: Any,
) -> TestResponse:
    """Fill in and send the report form of `comment` like a browser, from `address`."""
    path = report_path(comment)
    data = {"csrf_token": token(client, path), "reason": "spam", "text": ""}
    data.update(fields)
    return client.post(path, data=data, environ_base={"REMOTE_ADDR": address})


def flags(session: Session) -> list[Flag]:
    """Every stored flag, as committed now."""
    # Fresh rows without expiring the test's other objects: touching an expired one would open
    # a transaction that holds SQLite's write lock while the site tries to write.
    query = select(Flag).order_by(Flag.id).execution_options(populate_existing=True)
    rows = list(session.scalars(query))
    session.commit()  # end the read transaction (on SQLite it holds the write lock)
    return rows


def status(session: Session, comment: Submission) -> Status:
    """The committed status of `comment`."""
    value = session.scalar(select(Submission.status).where(Submission.id == comment.id))
    session.commit()
    assert value is not None
    return value


def published(session: Session) -> tuple[Article, Submission]:
    """An article with one published comment."""
    article = add_article(session)
    return article, add_comment(session, article)


def test_each_published_comment_has_a_report_link_to_its_form(
    client: FlaskClient, session: Session
) -> None:
    _, comment = published(session)

    page = html(client.get("/articles/la-zafra"))
    assert f'href="{report_path(comment)}"' in page

    form = client.get(report_path(comment))
    assert form.status_code == 200
    text = html(form)
    assert "Report a comment" in text
    assert COMMENT in text  # the reader sees what they are reporting
    for label in ("Spam or advertising", "Abusive or hateful", "Off-topic", "Something else"):
        assert label in text
    assert 'name="topic"' in text  # the honeypot
    assert 'name="csrf_token"' in text


def test_a_report_is_stored_with_a_hash_of_the_network_and_thanked(
    client: FlaskClient, settings: Settings, session: Session
) -> None:
    _, comment = published(session)
    save_threshold(session, 3)

    response = report(client, comment, reason="abuse", text="Insulta a otra lectora.")

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{report_path(comment)}/thanks#main")
    thanks = client.get(response.headers["Location"])
    assert "Thank you for your report" in html(thanks)
    assert "A moderator will look at the comment" in html(thanks)
    [flag] = flags(session)
    assert (flag.submission_id, flag.reason, flag.text) == (
        comment.id,
        FlagReason.abuse,
        "Insulta a otra lectora.",
    )
    assert flag.reporter_hash == ip_hash(settings.hash_key, "127.0.0.1")
    assert flag.resolved_at is None and flag.outcome is None
    # One report of three needed: the comment stays published.
    assert status(session, comment) is Status.published


def test_a_report_needs_a_reason_and_a_short_text(client: FlaskClient, session: Session) -> None:
    _, comment = published(session)

    missing = report(client, comment, reason="")
    assert missing.status_code == 422
    assert "Choose why you are reporting this comment." in html(missing)
    assert html(missing).count("Choose why you are reporting this comment.") == 2  # summary+field

    forged = report(client, comment, reason="boring")
    assert forged.status_code == 422
    assert "Choose why you are reporting this comment." in html(forged)

    long = report(client, comment, text="x" * 501)
    assert long.status_code == 422
    assert "Use at most 500 characters (you wrote 501)." in html(long)
    assert flags(session) == []


def test_a_filled_honeypot_is_thanked_and_nothing_is_stored(
    client: FlaskClient, session: Session
) -> None:
    _, comment = published(session)

    response = report(client, comment, topic="http://spam.example")

    assert response.status_code == 303
    assert "Thank you for your report" in html(client.get(response.headers["Location"]))
    assert flags(session) == []
    assert status(session, comment) is Status.published


def test_a_reader_counts_once_per_comment(client: FlaskClient, session: Session) -> None:
    _, comment = published(session)
    save_threshold(session, 2)

    assert report(client, comment).status_code == 303
    again = report(client, comment, reason="other")

    assert again.status_code == 303
    page = html(client.get(again.headers["Location"]))
    assert "Thank you for your report" in page
    assert "You had already reported this comment" in page
    assert len(flags(session)) == 1
    # A second report from the same network does not reach a threshold of two.
    assert status(session, comment) is Status.published
    # Another network's report does.
    assert report(client, comment, address="203.0.113.7").status_code == 303
    assert status(session, comment) is Status.reported


def test_one_report_moves_a_comment_to_reported_by_default(
    client: FlaskClient, session: Session
) -> None:
    article, comment = published(session)

    assert report(client, comment).status_code == 303

    assert status(session, comment) is Status.reported
    event = session.scalars(select(AuditEvent).where(AuditEvent.submission_id == comment.id)).one()
    session.commit()
    assert (event.action, event.actor_id, event.from_status, event.to_status, event.reason) == (
        "flagged",
        None,
        "published",
        "reported",
        "1 reports",
    )
    # It stays up for readers until a moderator decides.
    assert COMMENT in html(client.get(f"/articles/{article.slug}"))


def test_with_a_threshold_of_three_the_third_reader_moves_it(
    client: FlaskClient, session: Session
) -> None:
    _, comment = published(session)
    save_threshold(session, 3)

    for n, address in enumerate(("198.51.100.1", "198.51.100.2"), start=1):
        assert report(client, comment, address=address).status_code == 303
        assert status(session, comment) is Status.published, f"after {n} reports"
    assert report(client, comment, address="198.51.100.3").status_code == 303

    assert status(session, comment) is Status.reported
    reasons = session.scalars(select(AuditEvent.reason).where(AuditEvent.action == "flagged")).all()
    session.commit()
    assert reasons == ["3 reports"]
    # A fourth report adds a flag; the comment is already waiting for a moderator.
    assert report(client, comment, address="198.51.100.4").status_code == 303
    assert len(flags(session)) == 4
    assert status(session, comment) is Status.reported


@pytest.mark.parametrize("state", [Status.pending, Status.rejected, Status.spam, Status.received])
def test_only_visible_comments_can_be_reported(
    client: FlaskClient, session: Session, state: Status
) -> None:
    article = add_article(session)
    hidden = add_comment(session, article, status=state)
    visible = add_comment(session, article)

    assert client.get(report_path(hidden)).status_code == 404
    refused = client.post(
        report_path(hidden),
        data={"csrf_token": token(client, report_path(visible)), "reason": "spam"},
    )
    assert refused.status_code == 404
    assert "There is no published comment here to report." in html(refused)
    assert flags(session) == []
    assert status(session, hidden) is state


def test_a_comment_is_reported_only_under_its_own_article(
    client: FlaskClient, session: Session
) -> None:
    _, comment = published(session)
    add_article(session, slug="otra", title="Otra")

    response = client.get(f"/articles/otra/comments/{comment.id}/report")
    assert response.status_code == 404
    assert "There is no published comment here to report." in html(response)
    assert client.get("/articles/la-zafra/comments/999999/report").status_code == 404


def test_reports_are_rate_limited_per_network(settings: Settings, session: Session) -> None:
    from intake import create_app

    client = create_app(settings.with_overrides(submit_rate_limit="2 per minute")).test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    article = add_article(session)
    comments = [add_comment(session, article, body=f"Comentario {n}") for n in range(3)]
    save_threshold(session, 5)

    assert report(client, comments[0]).status_code == 303
    assert report(client, comments[1]).status_code == 303
    refused = report(client, comments[2])

    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert "You have sent too much in a short time" in html(refused)
    assert len(flags(session)) == 2
    # Another network still may.
    assert report(client, comments[2], address="203.0.113.9").status_code == 303


def test_no_raw_address_is_stored_in_the_flags_table(client: FlaskClient, session: Session) -> None:
    _, comment = published(session)
    addresses = ("198.51.100.23", "2001:db8:1:2::7")
    for address in addresses:
        assert report(client, comment, address=address, text="Publicidad").status_code == 303

    rows = flags(session)
    assert len(rows) == 2
    for row in rows:
        stored = " ".join(str(getattr(row, c.key)) for c in row.__table__.columns)
        for address in (*addresses, "2001:db8:1:2"):
            assert address not in stored


def save_threshold(session: Session, threshold: int) -> None:
    """Set the admin's flag threshold as the settings page would."""
    site_settings.save(session, None, "test", flag_threshold=threshold)
