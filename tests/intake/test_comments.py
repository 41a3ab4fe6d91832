"""Posting a comment: validation, what is stored (and left for the sweeper), the receipt."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from core import limits
from core.config import Settings
from core.enums import Kind, ModerationMode, Status
from core.privacy import email_hash, ip_hash
from tests.intake.helpers import COMMENT, add_article, html, post_comment, submissions, token
from tests.support import Process, wait_for


def queued_messages(settings: Settings) -> list[dict[str, Any]]:
    """The Celery messages waiting in `settings.task_queue` on the broker, decoded."""
    raw = redis.Redis.from_url(settings.broker_url).lrange(settings.task_queue, 0, -1)
    return [json.loads(message) for message in raw]


def test_a_comment_is_committed_as_received_and_answered_with_a_receipt(
    quiet_client: FlaskClient, quiet_settings: Settings, session: Session
) -> None:
    article = add_article(session)

    response = post_comment(
        quiet_client, author_name="Ana", email="Ana@Example.org", body="Gracias por informar."
    )

    stored = submissions(session)  # read on another connection: only committed rows show
    assert len(stored) == 1
    comment = stored[0]
    assert response.status_code == 303
    assert response.headers["Location"] == f"/receipts/{comment.ref}#main"
    assert (comment.kind, comment.status, comment.article_id) == (
        Kind.comment,
        Status.received,
        article.id,
    )
    assert (comment.author_name, comment.body) == ("Ana", "Gracias por informar.")
    assert comment.email_hash == email_hash(quiet_settings.hash_key, "ana@example.org")
    assert comment.ip_hash == ip_hash(quiet_settings.hash_key, "127.0.0.1")
    # Neither the address nor the IP is stored anywhere in the row.
    columns = {c.key: getattr(comment, c.key) for c in comment.__table__.columns}
    assert not [k for k, v in columns.items() if "example.org" in str(v).lower()]
    assert not [k for k, v in columns.items() if "127.0.0.1" in str(v)]
    assert comment.sealed is None and comment.check_copy is None


def test_the_comment_records_the_readers_language(
    quiet_client: FlaskClient, session: Session
) -> None:
    add_article(session)
    quiet_client.get("/language/en")
    assert post_comment(quiet_client).status_code == 303
    assert submissions(session)[0].locale == "en"


def test_the_readers_request_never_touches_the_broker(
    quiet_client: FlaskClient, quiet_settings: Settings, session: Session
) -> None:
    add_article(session)

    assert post_comment(quiet_client, body="Texto que no debe pasar por Redis").status_code == 303

    # Committed and answered; the sweeper relays it to the workers (tests/worker/test_sweeper).
    assert submissions(session)[0].status == Status.received
    assert queued_messages(quiet_settings) == []


def test_a_comment_is_stored_and_receipted_while_the_broker_is_down(
    settings: Settings, session: Session
) -> None:
    from intake import create_app

    down = settings.with_overrides(broker_url="redis://127.0.0.1:1/0")
    client = create_app(down).test_client()
    add_article(session)

    started = time.monotonic()
    response = post_comment(client)
    elapsed = time.monotonic() - started

    assert response.status_code == 303
    receipt = client.get(response.headers["Location"])
    assert receipt.status_code == 200
    [comment] = submissions(session)
    assert comment.status == Status.received  # the sweeper enqueues it once the broker is back
    assert elapsed < 5, "a dead broker must not keep the reader waiting"


def test_a_clean_comment_is_published_by_the_worker_and_appears_on_the_article(
    intake_client: FlaskClient, session: Session, worker: Process, beat: Process
) -> None:
    add_article(session)

    response = post_comment(intake_client, body="Excelente trabajo, sigan así.", author_name="Rosa")
    assert response.status_code == 303

    def published() -> bool:
        return submissions(session)[0].status == Status.published

    try:
        wait_for(published, timeout=30, what="the worker to publish the comment")
    except AssertionError:
        raise AssertionError(f"not published; worker log:\n{worker.log()[-3000:]}") from None
    page = html(intake_client.get("/articles/la-zafra"))
    assert "Excelente trabajo, sigan así." in page and "Rosa" in page
    receipt = html(
        intake_client.get(response.headers["Location"], headers={"Accept-Language": "en"})
    )
    assert "your comment is published" in receipt


def test_a_comment_on_a_premoderated_article_waits_for_a_moderator(
    intake_client: FlaskClient, session: Session, worker: Process, beat: Process
) -> None:
    add_article(session, mode=ModerationMode.pre)

    response = post_comment(intake_client, body="Excelente trabajo, sigan así.")

    wait_for(
        lambda: submissions(session)[0].status == Status.pending,
        timeout=30,
        what="the worker to hold the comment",
    )
    assert "Excelente trabajo" not in html(intake_client.get("/articles/la-zafra"))
    receipt = html(
        intake_client.get(response.headers["Location"], headers={"Accept-Language": "en"})
    )
    assert "your comment was received" in receipt


def test_invalid_input_gets_errors_next_to_the_fields_and_keeps_what_was_typed(
    quiet_client: FlaskClient, session: Session
) -> None:
    add_article(session)

    response = post_comment(
        quiet_client,
        author_name="",
        email="ana-at-example",
        body="x",
        headers={"Accept-Language": "en"},
    )

    page = html(response)
    assert response.status_code == 422
    assert submissions(session) == []
    # A summary at the top of the form, linking to each field.
    start = page.index('class="error-summary"')
    summary = page[start : page.index("</div>", start)]
    assert (
        'href="#author_name"' in summary
        and 'href="#email"' in summary
        and 'href="#body"' in summary
    )
    # Each error sits by its field and is tied to it for screen readers.
    assert 'id="author_name-error"' in page and 'aria-describedby="author_name-error"' in page
    assert "Enter the name to show with your comment." in page
    assert 'aria-describedby="email-hint email-error"' in page
    assert 'value="ana-at-example"' in page
    assert f"Write at least {limits.BODY[Kind.comment].min} characters." in page
    assert "<title>Error:" in page
    assert 'action="/articles/la-zafra#comment-form"' in page


def test_what_was_typed_is_kept_escaped(quiet_client: FlaskClient, session: Session) -> None:
    add_article(session)
    typed = "Lo que escribí con <cuidado> & esmero"
    response = post_comment(quiet_client, author_name="", body=typed)
    assert response.status_code == 422
    assert "Lo que escribí con &lt;cuidado&gt; &amp; esmero</textarea>" in html(response)


def test_a_comment_over_the_limit_is_a_form_error(
    quiet_client: FlaskClient, session: Session
) -> None:
    add_article(session)
    maximum = limits.BODY[Kind.comment].max

    too_long = post_comment(quiet_client, body="a b " * maximum, headers={"Accept-Language": "en"})
    assert too_long.status_code == 422
    assert f"Use at most {maximum} characters" in html(too_long)
    assert submissions(session) == []

    assert post_comment(quiet_client, body="á" * maximum).status_code == 303
    assert len(submissions(session)[0].body or "") == maximum


def test_posting_a_comment_costs_one_statement_and_commits_it(
    quiet_app: Flask, quiet_client: FlaskClient, session: Session
) -> None:
    add_article(session)
    data = {
        "csrf_token": token(quiet_client, "/articles/la-zafra"),
        "author_name": "Ana",
        "body": COMMENT,
    }
    statements: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0].upper())

    # On every engine: on PostgreSQL the INSERT goes through a pool of autocommit connections.
    event.listen(Engine, "before_cursor_execute", on_execute)
    try:
        response = quiet_client.post("/articles/la-zafra", data=data)
    finally:
        event.remove(Engine, "before_cursor_execute", on_execute)

    assert response.status_code == 303
    # One INSERT ... SELECT finds the article and stores the comment (SQLite's "BEGIN
    # IMMEDIATE", see core.db, is how a transaction starts there, not a query).
    assert [s for s in statements if s != "BEGIN"] == ["INSERT"]
    # Committed before the answer: another connection sees it.
    assert [c.status for c in submissions(session)] == [Status.received]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_database_restart_between_two_comments_costs_the_reader_nothing(
    quiet_client: FlaskClient, session: Session, engine: Any
) -> None:
    add_article(session)
    assert post_comment(quiet_client, body="Primero").status_code == 303
    # Every server connection of the app goes away, as when PostgreSQL restarts: the pooled one
    # the first comment used is now dead, and the app does not ping before using it.
    with engine.connect() as connection:
        connection.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    session.close()

    response = post_comment(quiet_client, body="Segundo")

    assert response.status_code == 303
    assert sorted(c.body or "" for c in submissions(session)) == ["Primero", "Segundo"]
