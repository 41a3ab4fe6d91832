"""Undo: a moderator takes back their own decision for ten minutes, an admin any at any time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.config import Settings
from core.crypto import seal
from core.db import utcnow
from core.enums import Kind, Role, Status
from core.models import AuditEvent, StaffUser, Submission
from core.transitions import change_status
from moderation.undo import undo_target
from tests.moderation.conftest import login, new_client, token_from

MakeComment = Callable[..., Submission]
BUTTON = ">Undo (back to Pending)</button>"

# Reads select columns and end with a commit (see test_decisions.py: SQLite locks otherwise).


def _status(session: Session, submission_id: int) -> Status:
    status = session.scalar(select(Submission.status).where(Submission.id == submission_id))
    session.commit()
    assert status is not None
    return status


def _events(session: Session, submission_id: int) -> list[tuple[str, str, str | None, str | None]]:
    rows = session.execute(
        select(
            AuditEvent.actor_label, AuditEvent.action, AuditEvent.from_status, AuditEvent.to_status
        )
        .where(AuditEvent.submission_id == submission_id)
        .order_by(AuditEvent.id)
    ).all()
    session.commit()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _last_event(session: Session, submission_id: int) -> tuple[int, str]:
    row = session.execute(
        select(AuditEvent.id, AuditEvent.reason)
        .where(AuditEvent.submission_id == submission_id)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).one()
    session.commit()
    return row.id, row.reason


def _age_last_event(session: Session, submission_id: int, minutes: float) -> None:
    event_id, _ = _last_event(session, submission_id)
    session.execute(
        update(AuditEvent)
        .where(AuditEvent.id == event_id)
        .values(at=utcnow() - timedelta(minutes=minutes))
    )
    session.commit()


def _decide(client: FlaskClient, submission_id: int, to: str, version: int) -> None:
    token = token_from(client, f"/submissions/{submission_id}")
    response = client.post(
        f"/submissions/{submission_id}/status",
        data={"csrf_token": token, "to": to, "version": str(version), "next": "/queue"},
    )
    assert response.status_code == 303, response.status_code


def _undo(
    client: FlaskClient, path: str, event_id: int, version: int, reason: str = ""
) -> tuple[int, str, str | None]:
    token = token_from(client, path)
    response = client.post(
        f"{path}/undo",
        data={
            "csrf_token": token,
            "event": str(event_id),
            "version": str(version),
            "reason": reason,
        },
    )
    return response.status_code, response.text, response.location


def test_a_moderator_undoes_their_own_decision_within_ten_minutes(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    submission = make_comment("hola")
    path = f"/submissions/{submission.id}"
    login(client, "mod@example.org")
    assert BUTTON not in client.get(path).text  # nothing decided yet
    _decide(client, submission.id, "published", 1)

    html = client.get(path).text
    assert BUTTON in html
    assert "You can undo this for 10 more minutes." in html
    event_id, _ = _last_event(session, submission.id)

    code, _, location = _undo(client, path, event_id, 2)
    assert code == 303 and location == path
    assert "Undone: the comment is back to Pending." in client.get(location).text
    assert _status(session, submission.id) == Status.pending
    assert _events(session, submission.id) == [
        ("mod@example.org", "status", "pending", "published"),
        ("mod@example.org", "undo", "published", "pending"),
    ]
    assert _last_event(session, submission.id)[1] == f"undo of #{event_id}"

    # An undo is a decision like any other: it can be undone in turn (a toggle), with a reason.
    assert ">Undo (back to Published)</button>" in client.get(path).text
    undo_id, _ = _last_event(session, submission.id)
    code, _, _ = _undo(client, path, undo_id, 3, reason="me equivoqué")
    assert code == 303
    assert _status(session, submission.id) == Status.published
    assert _last_event(session, submission.id)[1] == f"undo of #{undo_id}: me equivoqué"


def test_after_ten_minutes_a_moderator_can_no_longer_undo(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    submission = make_comment("hola")
    path = f"/submissions/{submission.id}"
    login(client, "mod@example.org")
    _decide(client, submission.id, "rejected", 1)
    _age_last_event(session, submission.id, 7.5)
    assert "You can undo this for 3 more minutes." in client.get(path).text

    _age_last_event(session, submission.id, 10.5)
    assert BUTTON not in client.get(path).text
    event_id, _ = _last_event(session, submission.id)
    code, text, _ = _undo(client, path, event_id, 2)
    assert code == 403
    assert "You can only undo your own decisions, within 10 minutes." in text
    assert _status(session, submission.id) == Status.rejected
    assert [e[1] for e in _events(session, submission.id)] == ["status"]


def test_a_moderator_cannot_undo_someone_elses_decision(
    moderation_app: Flask,
    make_staff: Callable[..., StaffUser],
    make_comment: MakeComment,
    session: Session,
) -> None:
    make_staff("ana@example.org")
    make_staff("luis@example.org")
    submission = make_comment("hola")
    path = f"/submissions/{submission.id}"
    ana, luis = new_client(moderation_app), new_client(moderation_app)
    login(ana, "ana@example.org")
    login(luis, "luis@example.org")
    _decide(ana, submission.id, "spam", 1)

    assert BUTTON not in luis.get(path).text
    event_id, _ = _last_event(session, submission.id)
    code, _, _ = _undo(luis, path, event_id, 2)
    assert code == 403
    assert _status(session, submission.id) == Status.spam


def test_an_admin_undoes_anyones_decision_at_any_time(
    moderation_app: Flask,
    make_staff: Callable[..., StaffUser],
    moderator: StaffUser,
    make_comment: MakeComment,
    session: Session,
) -> None:
    make_staff("admin@example.org", Role.admin)
    submission = make_comment("hola")
    path = f"/submissions/{submission.id}"
    mod, admin = new_client(moderation_app), new_client(moderation_app)
    login(mod, "mod@example.org")
    login(admin, "admin@example.org")
    _decide(mod, submission.id, "published", 1)
    _age_last_event(session, submission.id, 60 * 24 * 3)

    html = admin.get(path).text
    assert BUTTON in html and "You can undo this" not in html
    event_id, _ = _last_event(session, submission.id)
    code, _, location = _undo(admin, path, event_id, 2)
    assert code == 303 and location == path
    assert _status(session, submission.id) == Status.pending
    assert _events(session, submission.id)[-1] == (
        "admin@example.org",
        "undo",
        "published",
        "pending",
    )


def test_a_stale_undo_is_refused_and_says_who_decided_meanwhile(
    moderation_app: Flask,
    make_staff: Callable[..., StaffUser],
    make_comment: MakeComment,
    session: Session,
) -> None:
    make_staff("ana@example.org")
    make_staff("luis@example.org", Role.admin)
    submission = make_comment("hola")
    path = f"/submissions/{submission.id}"
    ana, luis = new_client(moderation_app), new_client(moderation_app)
    login(ana, "ana@example.org")
    login(luis, "luis@example.org")
    _decide(ana, submission.id, "published", 1)
    event_id, _ = _last_event(session, submission.id)
    _decide(luis, submission.id, "rejected", 2)  # meanwhile, from Ana's page at version 2

    code, text, _ = _undo(ana, path, event_id, 2)
    assert code == 409
    assert "Already decided by luis@example.org at " in text
    assert "it is now Rejected." in text
    assert _status(session, submission.id) == Status.rejected

    # The same holds for an admin: a stale form never takes back a newer decision.
    code, text, _ = _undo(luis, path, event_id, 2)
    assert code == 409 and _status(session, submission.id) == Status.rejected


def test_anonymous_undo_goes_to_login(
    client: FlaskClient, make_comment: MakeComment, session: Session
) -> None:
    submission = make_comment("hola", Status.published)
    token = token_from(client, "/login")  # a valid token, so that only the login is missing
    response = client.post(
        f"/submissions/{submission.id}/undo",
        data={"csrf_token": token, "event": "1", "version": "1"},
    )
    assert response.status_code == 303 and response.location.startswith("/login")
    assert _status(session, submission.id) == Status.published


def test_the_checks_decisions_are_undone_by_admins_only(
    moderation_app: Flask,
    make_staff: Callable[..., StaffUser],
    moderator: StaffUser,
    make_comment: MakeComment,
    session: Session,
) -> None:
    make_staff("admin@example.org", Role.admin)
    submission = make_comment("hola", Status.received)
    sid = submission.id  # read before the change expires the object
    path = f"/submissions/{sid}"
    change_status(session, submission, Status.spam, expected_version=1, actor=None)
    mod, admin = new_client(moderation_app), new_client(moderation_app)
    login(mod, "mod@example.org")
    login(admin, "admin@example.org")
    event_id, _ = _last_event(session, sid)

    assert BUTTON not in mod.get(path).text
    assert _undo(mod, path, event_id, 2)[0] == 403

    # "Received" is the checks' inbox: an undo puts the comment where a person decides.
    assert BUTTON in admin.get(path).text
    code, _, _ = _undo(admin, path, event_id, 2)
    assert code == 303
    assert _status(session, sid) == Status.pending
    assert _events(session, sid) == [
        ("system", "status", "received", "spam"),
        ("admin@example.org", "undo", "spam", "pending"),
    ]


def test_undoing_a_decision_on_a_report_goes_back_to_pending() -> None:
    # Only readers put a comment in "reported"; staff take it to the pending queue instead.
    assert undo_target(Kind.comment, Status.rejected, Status.reported) == Status.pending
    assert undo_target(Kind.comment, Status.published, Status.reported) == Status.pending
    assert undo_target(Kind.comment, Status.pending, Status.received) is None
    assert undo_target(Kind.tip, Status.closed, Status.followed_up) == Status.followed_up
    assert undo_target(Kind.tip, Status.purged, Status.closed) is None


def test_an_editor_undoes_closing_a_tip(
    client: FlaskClient,
    make_staff: Callable[..., StaffUser],
    moderator: StaffUser,
    session: Session,
    settings: Settings,
) -> None:
    make_staff("ed@example.org", Role.editor)
    tip = Submission(kind=Kind.tip, status=Status.new, sealed=seal(settings.tip_public_key, {}))
    session.add(tip)
    session.commit()
    path = f"/tips/{tip.id}"
    login(client, "ed@example.org")
    token = token_from(client, path)
    client.post(f"{path}/status", data={"csrf_token": token, "to": "closed", "version": "1"})
    assert ">Undo (back to New)</button>" in client.get(path).text
    event_id, _ = _last_event(session, tip.id)
    code, _, location = _undo(client, path, event_id, 2)
    assert code == 303 and location == path
    assert "Undone: the tip is back to New." in client.get(path).text
    assert _status(session, tip.id) == Status.new

    # Moderators never reach tips, undo included.
    other = new_client(client.application)
    login(other, "mod@example.org")
    token = token_from(other, "/queue")
    response = other.post(
        f"{path}/undo", data={"csrf_token": token, "event": str(event_id), "version": "3"}
    )
    assert response.status_code == 403
