"""A sender's record on a comment's page: counts, recent comments, sanctions, never hashes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.db import utcnow
from core.enums import BanEffect, BanTarget, Status
from core.models import Ban, StaffUser, Submission
from moderation.history import active_sanctions, sender_history
from tests.moderation.conftest import login

MakeComment = Callable[..., Submission]
EMAIL = "e" * 64
OTHER_EMAIL = "f" * 64
IP = "a1" * 32


def _comment(
    session: Session,
    make_comment: MakeComment,
    status: Status,
    email: str | None = EMAIL,
    ip: str | None = IP,
    body: str = "un comentario",
    minutes_ago: float = 0,
) -> Submission:
    submission = make_comment(body, status, minutes_ago=minutes_ago)
    submission.email_hash, submission.ip_hash = email, ip
    session.commit()
    return submission


def test_the_record_counts_the_senders_other_comments_by_status(
    session: Session, make_comment: MakeComment
) -> None:
    for status in (Status.published, Status.published, Status.rejected, Status.spam):
        _comment(session, make_comment, status)
    _comment(session, make_comment, Status.published, email=OTHER_EMAIL)  # someone else
    current = _comment(session, make_comment, Status.pending)

    record = sender_history(session, current)
    assert record.known_by == "email"
    assert record.counts == {
        Status.published: 2,
        Status.rejected: 1,
        Status.spam: 1,
        Status.pending: 0,
    }
    assert record.total == 4
    assert current not in record.recent
    assert len(record.recent) == 4


def test_without_an_e_mail_the_network_links_the_comments(
    session: Session, make_comment: MakeComment
) -> None:
    _comment(session, make_comment, Status.spam, email=None)
    _comment(session, make_comment, Status.spam, email=OTHER_EMAIL)
    current = _comment(session, make_comment, Status.pending, email=None)
    record = sender_history(session, current)
    assert record.known_by == "ip"
    assert record.counts[Status.spam] == 2
    assert record.total == 2


def test_a_comment_with_neither_hash_has_no_record(
    session: Session, make_comment: MakeComment
) -> None:
    _comment(session, make_comment, Status.spam, email=None, ip=None)
    current = _comment(session, make_comment, Status.pending, email=None, ip=None)
    record = sender_history(session, current)
    assert record.known_by is None and record.total == 0 and record.recent == []


def test_recent_lists_the_latest_ten_newest_first(
    session: Session, make_comment: MakeComment
) -> None:
    made = [
        _comment(session, make_comment, Status.published, minutes_ago=100 - i) for i in range(12)
    ]
    current = _comment(session, make_comment, Status.pending)
    recent = sender_history(session, current).recent
    assert [s.id for s in recent] == [s.id for s in reversed(made)][:10]


def test_sanctions_in_force_are_listed_and_ended_ones_are_not(
    session: Session, make_comment: MakeComment
) -> None:
    current = _comment(session, make_comment, Status.pending)
    now = utcnow()
    session.add_all(
        [
            Ban(
                target=BanTarget.email,
                value=EMAIL,
                reason="insultos",
                expires_at=now + timedelta(days=7),
            ),
            Ban(target=BanTarget.ip, value=IP, reason="vigilar", effect=BanEffect.premoderate),
            Ban(
                target=BanTarget.email,
                value=EMAIL,
                reason="caducado",
                expires_at=now - timedelta(days=1),
            ),
            Ban(target=BanTarget.ip, value=IP, reason="levantado", lifted_at=now),
            Ban(target=BanTarget.email, value=OTHER_EMAIL, reason="otro"),
        ]
    )
    session.commit()
    assert [b.reason for b in active_sanctions(session, current)] == ["insultos", "vigilar"]


def test_the_page_shows_the_record_and_sanctions_but_no_hash(
    client: FlaskClient, moderator: StaffUser, session: Session, make_comment: MakeComment
) -> None:
    earlier = _comment(session, make_comment, Status.rejected, body="insulto anterior")
    current = _comment(session, make_comment, Status.pending)
    session.add(
        Ban(
            target=BanTarget.email,
            value=EMAIL,
            reason="insultos",
            expires_at=utcnow() + timedelta(days=7),
        )
    )
    session.commit()
    login(client, "mod@example.org")

    page = client.get(f"/submissions/{current.id}").text
    assert "Sender&#39;s record" in page or "Sender's record" in page
    assert "Other comments from the same e-mail address:" in page
    assert f'href="/submissions/{earlier.id}"' in page
    assert "insulto anterior" in page
    assert "Published: <strong>0</strong>" in page
    assert "Rejected: <strong>1</strong>" in page
    assert '<ul class="sanctions">' in page and "until" in page
    # The record names no hash (the ban form shows only a shortened one, to tell senders apart).
    assert EMAIL not in page and IP not in page
