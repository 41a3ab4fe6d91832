"""Readers' flags on the staff site: listed in the Reported queue, resolved by a decision."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import site_settings
from core.enums import FlagReason, Status
from core.flags import add_flag
from core.models import Flag, StaffUser, Submission
from core.transitions import Change, change_many
from tests.moderation.conftest import login, tab_count, token_from

MakeComment = Callable[..., Submission]


def flag(
    session: Session,
    comment: Submission,
    reporter: str,
    reason: FlagReason = FlagReason.abuse,
    text: str = "",
) -> None:
    """A reader's flag, stored by the public site's service with the current threshold."""
    session.refresh(comment)
    threshold = site_settings.load(session).flag_threshold
    add_flag(session, comment, reason, text, reporter_hash=reporter, threshold=threshold)


def reported(session: Session, make_comment: MakeComment, body: str = "Un insulto") -> Submission:
    """A published comment that one reader's flag (the default threshold) moved to Reported."""
    comment = make_comment(body, Status.published, minutes_ago=10)
    flag(session, comment, "reader-1", FlagReason.abuse, "Insulta a otra lectora")
    assert status(session, comment) is Status.reported
    return comment


def status(session: Session, comment: Submission) -> Status:
    """The committed status of `comment`."""
    value = session.scalar(select(Submission.status).where(Submission.id == comment.id))
    session.commit()
    assert value is not None
    return value


def flag_rows(session: Session, comment: Submission) -> list[tuple[object, ...]]:
    """(reason, resolved?, resolved_by_id, outcome) of each flag of `comment`, oldest first."""
    rows = session.execute(
        select(Flag.reason, Flag.resolved_at.is_not(None), Flag.resolved_by_id, Flag.outcome)
        .where(Flag.submission_id == comment.id)
        .order_by(Flag.id)
    ).all()
    session.commit()  # end the read transaction (on SQLite it holds the write lock)
    return [tuple(row) for row in rows]


def decide(client: FlaskClient, session: Session, comment: Submission, to: str) -> None:
    """Post a decision from the comment's page, with the version it shows."""
    session.refresh(comment)
    version = comment.version
    session.commit()
    token = token_from(client, f"/submissions/{comment.id}")
    response = client.post(
        f"/submissions/{comment.id}/status",
        data={"csrf_token": token, "to": to, "version": str(version)},
    )
    assert response.status_code == 303, response.text


def test_the_reported_queue_lists_each_rows_open_flags(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    site_settings.save(session, None, "test", flag_threshold=2)
    comment = make_comment("Compren relojes baratos", Status.published, minutes_ago=10)
    flag(session, comment, "reader-1", FlagReason.spam, "Es publicidad")
    assert status(session, comment) is Status.published
    flag(session, comment, "reader-2", FlagReason.off_topic)
    assert status(session, comment) is Status.reported
    make_comment("Nadie lo reportó", Status.published)
    login(client, "mod@example.org")

    page = client.get("/queue?status=reported").text

    assert tab_count(page, "reported") == 1
    assert "Compren relojes baratos" in page
    assert "2 reports from readers" in page
    assert "Spam or advertising" in page and "Off-topic" in page
    assert "Es publicidad" in page
    assert ">Keep (dismiss reports)</button>" in page
    assert "Nadie lo reportó" not in page


def test_the_comments_page_shows_its_flags(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    comment = reported(session, make_comment)
    login(client, "mod@example.org")

    page = client.get(f"/submissions/{comment.id}").text

    assert "Reports from readers" in page
    assert "Abusive or hateful" in page and "Insulta a otra lectora" in page
    assert ">open<" in page.replace("\n", "").replace(" ", "")
    assert ">Keep (dismiss reports)</button>" in page
    assert ">Approve</button>" not in page


def test_keeping_publishes_it_again_and_resolves_its_flags(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    comment = reported(session, make_comment)
    login(client, "mod@example.org")

    decide(client, session, comment, "published")

    assert status(session, comment) is Status.published
    assert flag_rows(session, comment) == [(FlagReason.abuse, True, moderator.id, "kept")]
    queue = client.get("/queue?status=reported").text
    assert tab_count(queue, "reported") == 0
    assert "Un insulto" not in queue
    page = client.get(f"/submissions/{comment.id}").text
    assert "kept (mod@example.org," in page  # the flag's history stays on the comment's page


def test_rejecting_resolves_its_flags_as_rejected(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    comment = reported(session, make_comment)
    login(client, "mod@example.org")

    decide(client, session, comment, "rejected")

    assert status(session, comment) is Status.rejected
    assert flag_rows(session, comment) == [(FlagReason.abuse, True, moderator.id, "rejected")]


def test_marking_as_spam_in_a_batch_resolves_the_flags_too(
    moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    first = reported(session, make_comment, "uno")
    second = make_comment("dos", Status.published)
    flag(session, second, "reader-2", FlagReason.spam)
    changes = [
        Change(c.id, c.kind, Status.reported, Status.spam, expected_version=2)
        for c in (first, second)
    ]

    made = change_many(session, changes, actor=moderator, action="bulk")
    session.commit()

    assert len(made) == 2
    assert flag_rows(session, first) == [(FlagReason.abuse, True, moderator.id, "spam")]
    assert flag_rows(session, second) == [(FlagReason.spam, True, moderator.id, "spam")]


def test_after_a_keep_only_new_flags_count_towards_the_threshold(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    site_settings.save(session, None, "test", flag_threshold=2)
    comment = make_comment("Opinión polémica", Status.published)
    flag(session, comment, "reader-1")
    flag(session, comment, "reader-2")
    assert status(session, comment) is Status.reported
    login(client, "mod@example.org")
    decide(client, session, comment, "published")

    # The same reader again counts once (their flag was already answered); a new one is open.
    flag(session, comment, "reader-1")
    flag(session, comment, "reader-3")
    assert status(session, comment) is Status.published
    flag(session, comment, "reader-4")
    assert status(session, comment) is Status.reported

    page = client.get("/queue?status=reported").text
    assert "2 reports from readers" in page
    outcomes = [row[3] for row in flag_rows(session, comment)]
    assert outcomes == ["kept", "kept", None, None]
