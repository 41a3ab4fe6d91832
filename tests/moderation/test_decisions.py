"""Deciding on comments: the flow, the audit trail, and conflicts that never overwrite."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.enums import Status
from core.models import AuditEvent, StaffUser, Submission
from core.transitions import change_status
from moderation.submission_page import PUBLISHED_COUNT_CAP
from tests.moderation.conftest import login, new_client, token_from

MakeComment = Callable[..., Submission]


# The test's reads select columns and end with a commit: SQLite transactions start with BEGIN
# IMMEDIATE, so a read left open (or a lazy refresh of an expired object) would lock the app out.


def _status(session: Session, submission: Submission) -> Status:
    status = session.scalar(select(Submission.status).where(Submission.id == submission.id))
    session.commit()
    assert status is not None
    return status


def _events(session: Session, submission: Submission) -> list[tuple[str, str | None, str | None]]:
    rows = session.execute(
        select(AuditEvent.actor_label, AuditEvent.from_status, AuditEvent.to_status)
        .where(AuditEvent.submission_id == submission.id)
        .order_by(AuditEvent.id)
    ).all()
    session.commit()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_item_page_shows_everything_and_only_the_allowed_moves(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment
) -> None:
    submission = make_comment("Primera línea\nSegunda línea", name="Ana", minutes_ago=5)
    login(client, "mod@example.org")
    html = client.get(f"/submissions/{submission.id}").text
    assert "Primera línea\nSegunda línea" in html  # line breaks kept (CSS pre-wrap shows them)
    assert "Ana" in html and "Apagones en La Habana" in html
    assert "/articles/apagones" in html
    assert "5 minutes ago" in html
    buttons = {"Approve", "Reject", "Spam"}
    assert all(f">{label}</button>" in html for label in buttons)
    assert ">Back to pending</button>" not in html
    assert 'name="version" value="1"' in html


def test_approving_from_the_pending_queue_moves_on_to_the_next_oldest(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    first = make_comment("first", minutes_ago=30)
    second = make_comment("second", minutes_ago=20)
    login(client, "mod@example.org")

    token = token_from(client, f"/submissions/{first.id}")
    response = client.post(
        f"/submissions/{first.id}/status",
        data={"csrf_token": token, "to": "published", "version": "1", "reason": "bien"},
    )
    assert response.status_code == 303
    assert response.location == f"/submissions/{second.id}"
    page = client.get(response.location).text
    assert "Saved: the comment is now Published." in page
    assert 'role="status"' in page

    assert _status(session, first) == Status.published
    assert _events(session, first) == [("mod@example.org", "pending", "published")]
    event = session.execute(
        select(AuditEvent.reason, AuditEvent.actor_id).where(AuditEvent.action == "status")
    ).one()
    session.commit()
    assert tuple(event) == ("bien", moderator.id)

    # The last one: back to the (now empty) queue.
    response = client.post(
        f"/submissions/{second.id}/status",
        data={"csrf_token": token, "to": "spam", "version": "1"},
    )
    assert response.location == "/queue?status=pending"
    assert "Nothing else is waiting here." in client.get(response.location).text
    assert _status(session, second) == Status.spam

    # Its page shows the history.
    html = client.get(f"/submissions/{first.id}").text
    assert "Pending → Published" in html and "bien" in html


def test_buttons_in_a_queue_row_return_to_the_queue(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    submission = make_comment("hola")
    login(client, "mod@example.org")
    token = token_from(client, "/queue?status=pending")
    response = client.post(
        f"/submissions/{submission.id}/status",
        data={
            "csrf_token": token,
            "to": "rejected",
            "version": "1",
            "next": "/queue?status=pending",
        },
    )
    assert response.status_code == 303 and response.location == "/queue?status=pending"
    assert _status(session, submission) == Status.rejected


def test_a_decision_can_be_undone_and_both_are_audited(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    submission = make_comment("hola", Status.published)
    login(client, "mod@example.org")
    html = client.get(f"/submissions/{submission.id}").text
    assert ">Back to pending</button>" in html and ">Approve</button>" not in html
    token = token_from(client, f"/submissions/{submission.id}")
    client.post(
        f"/submissions/{submission.id}/status",
        data={"csrf_token": token, "to": "rejected", "version": "1"},
    )
    client.post(
        f"/submissions/{submission.id}/status",
        data={"csrf_token": token, "to": "published", "version": "2"},
    )
    assert _status(session, submission) == Status.published
    assert _events(session, submission) == [
        ("mod@example.org", "published", "rejected"),
        ("mod@example.org", "rejected", "published"),
    ]


def test_two_moderators_deciding_at_once_the_second_is_told_who_won(
    moderation_app: Flask,
    make_staff: Callable[..., StaffUser],
    make_comment: MakeComment,
    session: Session,
) -> None:
    make_staff("ana@example.org")
    make_staff("luis@example.org")
    submission = make_comment("¿Quién decide?")
    ana, luis = new_client(moderation_app), new_client(moderation_app)
    login(ana, "ana@example.org")
    login(luis, "luis@example.org")
    # Both open the comment while it is pending (version 1).
    ana_token = token_from(ana, f"/submissions/{submission.id}")
    luis_token = token_from(luis, f"/submissions/{submission.id}")

    assert (
        ana.post(
            f"/submissions/{submission.id}/status",
            data={"csrf_token": ana_token, "to": "published", "version": "1"},
        ).status_code
        == 303
    )
    response = luis.post(
        f"/submissions/{submission.id}/status",
        data={"csrf_token": luis_token, "to": "rejected", "version": "1", "reason": "no"},
    )

    assert response.status_code == 409
    assert "Already decided by ana@example.org at " in response.text
    assert "it is now Published." in response.text
    assert 'role="alert"' in response.text
    # The page shows the current state, with buttons for the current version.
    assert 'name="version" value="2"' in response.text
    assert _status(session, submission) == Status.published
    assert _events(session, submission) == [("ana@example.org", "pending", "published")]


def test_a_decision_on_a_stale_version_is_refused_even_when_the_move_is_allowed(
    client: FlaskClient,
    moderator: StaffUser,
    make_comment: MakeComment,
    session: Session,
) -> None:
    submission = make_comment("publicado", Status.published)
    url = f"/submissions/{submission.id}"
    login(client, "mod@example.org")
    token = token_from(client, url)
    # A reader flags it while the moderator looks at version 1.
    change_status(session, submission, Status.reported, expected_version=1, actor=None)

    response = client.post(
        f"{url}/status", data={"csrf_token": token, "to": "spam", "version": "1"}
    )
    assert response.status_code == 409
    assert "Already decided by automatic checks" in response.text
    assert "it is now Reported." in response.text
    assert _status(session, submission) == Status.reported


def test_a_move_the_status_does_not_allow_is_refused_with_409(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    submission = make_comment("pendiente")
    login(client, "mod@example.org")
    token = token_from(client, f"/submissions/{submission.id}")
    response = client.post(
        f"/submissions/{submission.id}/status",
        data={"csrf_token": token, "to": "closed", "version": "1"},
    )
    assert response.status_code == 409
    assert "This cannot be moved from Pending to Closed." in response.text
    assert _status(session, submission) == Status.pending
    assert _events(session, submission) == []


def test_malformed_decisions_are_refused(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    submission = make_comment("pendiente")
    login(client, "mod@example.org")
    token = token_from(client, f"/submissions/{submission.id}")
    url = f"/submissions/{submission.id}/status"
    assert (
        client.post(url, data={"csrf_token": token, "to": "bogus", "version": "1"}).status_code
        == 400
    )
    assert client.post(url, data={"csrf_token": token, "to": "published"}).status_code == 400
    assert client.post(url, data={"to": "published", "version": "1"}).status_code == 400
    missing = client.post(
        "/submissions/999999/status", data={"csrf_token": token, "to": "spam", "version": "1"}
    )
    assert missing.status_code == 404
    assert _status(session, submission) == Status.pending


def test_item_page_counts_the_articles_comments_up_to_a_thousand(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    submission = make_comment("hola")
    make_comment("publicado", Status.published)
    login(client, "mod@example.org")
    assert "(1 published comment)" in client.get(f"/submissions/{submission.id}").text

    # A busy article: the page says "more than" rather than count tens of thousands each time.
    session.add_all(
        Submission(
            kind=submission.kind,
            status=Status.published,
            article_id=submission.article_id,
            author_name="Ana",
            body=f"comentario {n}",
        )
        for n in range(PUBLISHED_COUNT_CAP)
    )
    session.commit()
    html = client.get(f"/submissions/{submission.id}").text
    assert "(more than 1,000 published comments)" in html
