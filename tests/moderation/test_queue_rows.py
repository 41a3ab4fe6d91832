"""The queue's rows are rendered once per version and reused: never stale, never mixed up."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.enums import Status
from core.models import StaffUser, Submission
from core.transitions import change_status
from moderation.claims import claim, release
from moderation.queue_rows import RowCache, rows_cache
from tests.moderation.conftest import login

MakeComment = Callable[..., Submission]
MakeStaff = Callable[..., StaffUser]


def _row(html: str, submission_id: int) -> str:
    """The HTML of one queue row."""
    row = rf'<li>\s*<article class="row"[^>]*data-submission-id="{submission_id}".*?</article>'
    match = re.search(row + r"\s*</li>", html, re.S)
    assert match, f"no row for {submission_id}"
    return match.group(0)


def _field(row: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', row)
    assert match, f"no {name} in the row"
    return unescape(match.group(1))


def test_a_reused_row_posts_with_this_pages_token_and_comes_back_here(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    first = make_comment("primero", minutes_ago=10)
    second = make_comment("segundo", minutes_ago=5)
    login(client, "mod@example.org")
    client.get("/queue?status=pending")  # renders and keeps both rows

    here = "/queue?status=pending&order=newest"
    row = _row(client.get(here).text, first.id)
    assert _field(row, "next") == here
    response = client.post(
        f"/submissions/{first.id}/status",
        data={
            "csrf_token": _field(row, "csrf_token"),
            "version": _field(row, "version"),
            "next": _field(row, "next"),
            "to": "published",
        },
    )
    assert response.status_code == 303
    assert response.location.startswith("/queue?status=pending&order=newest")
    session.refresh(first)
    assert first.status is Status.published
    session.commit()
    assert f'data-submission-id="{second.id}"' in client.get(here).text


def test_a_comment_decided_elsewhere_never_shows_its_old_row(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    submission = make_comment("hola")
    login(client, "mod@example.org")
    before = _row(client.get("/queue?status=all").text, submission.id)
    assert ">Approve</button>" in before and 'data-version="1"' in before

    # Decided by someone else, in another process for all this one knows.
    change_status(session, submission, Status.published, expected_version=1, actor=moderator)

    after = _row(client.get("/queue?status=all").text, submission.id)
    assert ">Approve</button>" not in after and ">Reject</button>" in after
    assert 'data-version="2"' in after


def test_rows_follow_the_readers_language(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment
) -> None:
    submission = make_comment("hola", name="Pepe")
    login(client, "mod@example.org")
    english = _row(client.get("/queue").text, submission.id)
    assert "Comment by Pepe" in english and ">Approve</button>" in english

    client.get("/language/es?next=/queue")
    spanish = _row(client.get("/queue").text, submission.id)
    assert "Comentario de Pepe" in spanish and ">Aprobar</button>" in spanish

    client.get("/language/en?next=/queue")
    again = _row(client.get("/queue").text, submission.id)
    assert "Comment by Pepe" in again and ">Approve</button>" in again


def test_a_comment_that_spells_a_slot_is_shown_as_written(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment
) -> None:
    submission = make_comment("mira <tipline-slot:csrf> y <tipline-slot:age>")
    login(client, "mod@example.org")
    for _ in range(2):  # rendered, then reused
        row = _row(client.get("/queue").text, submission.id)
        body = re.search(r'<p class="body" dir="auto">(.*?)</p>', row, re.S)
        assert body is not None
        assert body.group(1) == "mira &lt;tipline-slot:csrf&gt; y &lt;tipline-slot:age&gt;"
        assert "<tipline-slot" not in row


def test_claims_and_reports_are_current_on_reused_rows(
    client: FlaskClient,
    moderator: StaffUser,
    make_staff: MakeStaff,
    make_comment: MakeComment,
    session: Session,
) -> None:
    submission = make_comment("hola")
    luis = make_staff("luis@example.org")
    login(client, "mod@example.org")
    assert "Being reviewed by" not in _row(client.get("/queue").text, submission.id)

    claim(session, submission.id, luis)
    assert "Being reviewed by luis@example.org" in _row(client.get("/queue").text, submission.id)

    release(session, submission.id)
    assert "Being reviewed by" not in _row(client.get("/queue").text, submission.id)


def test_the_cache_keeps_only_the_most_recently_used_rows() -> None:
    cache = RowCache(size=2)
    cache.put((1,), "one")
    cache.put((2,), "two")
    assert cache.get((1,)) == "one"  # now the most recent
    cache.put((3,), "three")
    assert cache.get((2,)) is None
    assert cache.get((1,)) == "one" and cache.get((3,)) == "three"


def test_the_queue_reuses_what_it_rendered_until_the_comment_changes(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    submission = make_comment("hola")
    login(client, "mod@example.org")
    client.get("/queue?status=all")
    assert len(rows_cache) == 1
    client.get("/queue?status=all&order=oldest")
    assert len(rows_cache) == 1  # the same row, reused

    change_status(session, submission, Status.spam, expected_version=1, actor=moderator)
    client.get("/queue?status=all")
    assert len(rows_cache) == 2  # its new version
