"""Soft claims: who has a comment open, shown to colleagues, never blocking a decision."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.enums import Status
from core.models import Claim, StaffUser, Submission
from moderation.claims import CLAIM_TTL, active_claims, claim, release
from tests.moderation.conftest import login, new_client, token_from

MakeComment = Callable[..., Submission]
MakeStaff = Callable[..., StaffUser]


def _claims(session: Session) -> int:
    count = session.scalar(select(func.count()).select_from(Claim))
    session.commit()  # end the read: SQLite's BEGIN IMMEDIATE would lock the app out
    return int(count or 0)


def test_the_first_to_open_holds_the_claim_and_others_see_who(
    session: Session, make_staff: MakeStaff, make_comment: MakeComment
) -> None:
    ana, luis = make_staff("ana@example.org"), make_staff("luis@example.org")
    submission = make_comment("hola")

    assert claim(session, submission.id, ana) is True
    assert claim(session, submission.id, luis) is False
    # Renewing one's own claim works.
    assert claim(session, submission.id, ana) is True

    seen_by_luis = active_claims(session, [submission.id], exclude_staff=luis)
    assert [r.label for r in seen_by_luis.values()] == ["ana@example.org"]
    # No one is told that they are reviewing it themselves.
    assert active_claims(session, [submission.id], exclude_staff=ana) == {}


def test_an_expired_claim_is_ignored_and_taken_over(
    session: Session, make_staff: MakeStaff, make_comment: MakeComment
) -> None:
    ana, luis = make_staff("ana@example.org"), make_staff("luis@example.org")
    submission = make_comment("hola")
    long_ago = utcnow() - CLAIM_TTL - timedelta(seconds=1)
    assert claim(session, submission.id, ana, now=long_ago)

    assert active_claims(session, [submission.id], exclude_staff=luis) == {}
    session.commit()
    assert claim(session, submission.id, luis) is True
    seen_by_ana = active_claims(session, [submission.id], exclude_staff=ana)
    assert [r.label for r in seen_by_ana.values()] == ["luis@example.org"]


def test_release_drops_the_claim(
    session: Session, make_staff: MakeStaff, make_comment: MakeComment
) -> None:
    ana = make_staff("ana@example.org")
    submission = make_comment("hola")
    claim(session, submission.id, ana)
    release(session, submission.id)
    assert _claims(session) == 0


def test_two_moderators_opening_at_once_never_fail(
    engine: Engine, session: Session, make_staff: MakeStaff, make_comment: MakeComment
) -> None:
    staff = [make_staff(f"m{i}@example.org") for i in range(6)]
    submission = make_comment("hola")
    start = threading.Barrier(len(staff))
    won: list[bool] = []
    errors: list[BaseException] = []

    def open_it(person: StaffUser) -> None:
        with Session(engine) as own:
            start.wait()
            try:
                won.append(claim(own, submission.id, person))
            except BaseException as exc:  # the test reports any failure
                errors.append(exc)

    threads = [threading.Thread(target=open_it, args=(p,)) for p in staff]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert won.count(True) == 1
    assert _claims(session) == 1


def test_a_colleague_sees_being_reviewed_on_the_page_and_in_the_queue(
    moderation_app: Flask, make_staff: MakeStaff, make_comment: MakeComment, session: Session
) -> None:
    make_staff("ana@example.org")
    make_staff("luis@example.org")
    submission = make_comment("hola")
    ana, luis = new_client(moderation_app), new_client(moderation_app)
    login(ana, "ana@example.org")
    login(luis, "luis@example.org")

    first = ana.get(f"/submissions/{submission.id}")
    assert "Being reviewed by" not in first.text
    second = luis.get(f"/submissions/{submission.id}")
    assert "Being reviewed by ana@example.org" in second.text
    queue = luis.get("/queue?status=pending")
    assert "Being reviewed by ana@example.org" in queue.text
    # Ana does not see a badge about herself in the queue.
    assert "Being reviewed by" not in ana.get("/queue?status=pending").text


def test_a_claim_never_blocks_a_decision_and_deciding_releases_it(
    moderation_app: Flask, make_staff: MakeStaff, make_comment: MakeComment, session: Session
) -> None:
    make_staff("ana@example.org")
    make_staff("luis@example.org")
    submission = make_comment("hola")
    ana, luis = new_client(moderation_app), new_client(moderation_app)
    login(ana, "ana@example.org")
    login(luis, "luis@example.org")
    ana.get(f"/submissions/{submission.id}")
    token = token_from(luis, f"/submissions/{submission.id}")

    response = luis.post(
        f"/submissions/{submission.id}/status",
        data={"csrf_token": token, "to": "published", "version": "1", "next": "/queue"},
    )
    assert response.status_code == 303
    assert _claims(session) == 0
    assert "Being reviewed by" not in luis.get("/queue?status=all").text


def test_the_page_renews_its_claim_with_a_post(
    moderation_app: Flask, make_staff: MakeStaff, make_comment: MakeComment, session: Session
) -> None:
    make_staff("ana@example.org")
    submission = make_comment("hola")
    ana = new_client(moderation_app)
    login(ana, "ana@example.org")
    page = ana.get(f"/submissions/{submission.id}")
    assert f'action="/submissions/{submission.id}/claim"' in page.text
    assert "claims.js" in page.text
    token = token_from(ana, f"/submissions/{submission.id}")

    assert (
        ana.post(f"/submissions/{submission.id}/claim", data={"csrf_token": token}).status_code
        == 204
    )
    assert ana.post(f"/submissions/{submission.id}/claim").status_code == 400
    assert ana.post("/submissions/999999/claim", data={"csrf_token": token}).status_code == 404


def test_a_stale_decision_gets_409_with_who_when_and_the_current_state(
    moderation_app: Flask, make_staff: MakeStaff, make_comment: MakeComment, session: Session
) -> None:
    make_staff("ana@example.org")
    make_staff("luis@example.org")
    submission = make_comment("hola")
    ana, luis = new_client(moderation_app), new_client(moderation_app)
    login(ana, "ana@example.org")
    login(luis, "luis@example.org")
    ana_token = token_from(ana, f"/submissions/{submission.id}")
    luis_token = token_from(luis, f"/submissions/{submission.id}")
    url = f"/submissions/{submission.id}/status"
    ana.post(url, data={"csrf_token": ana_token, "to": "spam", "version": "1"})

    page = luis.post(url, data={"csrf_token": luis_token, "to": "published", "version": "1"})
    assert page.status_code == 409
    assert "Already decided by ana@example.org at " in page.text
    assert "it is now Spam." in page.text
    # The page shows the comment as it is now, and no stale claim of Ana's.
    assert 'class="status status-spam"' in page.text
    assert "Being reviewed by" not in page.text

    script = luis.post(
        url,
        data={"csrf_token": luis_token, "to": "published", "version": "1"},
        headers={"Accept": "application/json"},
    )
    assert script.status_code == 409
    assert script.json is not None
    assert script.json["error"].startswith("Already decided by ana@example.org at ")
    assert script.json["status"] == Status.spam.value
