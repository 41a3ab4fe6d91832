"""Bulk decisions on a selection after one confirmation; the keyboard flow's JSON answers."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import limits
from core.config import Settings
from core.crypto import seal
from core.enums import Kind, Role, Status
from core.models import AuditEvent, StaffUser, Submission
from core.transitions import change_status
from moderation.bulk import MAX_SELECTION, BadSelection, Selected, apply_bulk, parse_selection
from tests.moderation.conftest import login, new_client, token_from

MakeComment = Callable[..., Submission]
JSON = {"Accept": "application/json"}

# Reads select columns and end with a commit (see test_decisions.py: SQLite locks otherwise).


def _statuses(session: Session, ids: list[int]) -> list[Status]:
    rows = session.execute(
        select(Submission.id, Submission.status).where(Submission.id.in_(ids))
    ).all()
    session.commit()
    found = {row.id: row.status for row in rows}
    return [Status(found[i]) for i in ids]


def _audit(session: Session, ids: list[int]) -> list[tuple[int, str, str, str | None, str]]:
    rows = session.execute(
        select(
            AuditEvent.submission_id,
            AuditEvent.actor_label,
            AuditEvent.action,
            AuditEvent.to_status,
            AuditEvent.reason,
        )
        .where(AuditEvent.submission_id.in_(ids))
        .order_by(AuditEvent.id)
    ).all()
    session.commit()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _selected(*comments: Submission, version: int = 1) -> list[str]:
    return [f"{c.id}:{version}" for c in comments]


def _post_bulk(
    client: FlaskClient, selected: list[str], action: str, *, confirm: bool, **extra: str
) -> tuple[int, str, str | None]:
    token = token_from(client, "/queue?status=pending")
    data: dict[str, object] = {
        "csrf_token": token,
        "selected": selected,
        "action": action,
        "next": "/queue?status=pending",
        **extra,
    }
    if confirm:
        data["confirm"] = "1"
    response = client.post("/queue/bulk", data=data)
    return response.status_code, response.text, response.headers.get("Location")


def _flash(client: FlaskClient) -> str:
    page = client.get("/queue?status=pending").text
    return htmllib.unescape(" ".join(re.findall(r'class="notice[^"]*"[^>]*>([^<]*)<', page)))


def test_the_queue_offers_a_checkbox_per_row_and_the_bulk_bar(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment
) -> None:
    first, second = make_comment("uno"), make_comment("dos")
    login(client, "mod@example.org")
    page = client.get("/queue?status=pending").text
    assert page.count('form="bulk-form"') == 2
    assert f'value="{first.id}:1"' in page and f'value="{second.id}:1"' in page
    assert ">Approve selected</button>" in page and ">Spam selected</button>" in page
    assert f'data-submission-id="{first.id}" data-version="1"' in page
    assert 'data-decision="published"' in page
    assert "/static/desk.js" in page
    # No form inside another form: the checkboxes join the bar's form by its id.
    assert '<form id="bulk-form"' in page
    bar = page.index('<form id="bulk-form"')
    assert page.index("</form>", bar) < page.index('<ol class="queue">')


def test_without_confirmation_the_page_lists_the_comments_and_changes_nothing(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    comments = [make_comment(f"comentario {i}", name=f"Autor {i}") for i in range(3)]
    login(client, "mod@example.org")
    code, page, _ = _post_bulk(client, _selected(*comments), "approve", confirm=False)
    assert code == 200
    assert "Approve 3 comments?" in page
    for c in comments:
        assert f"Comment by Autor {comments.index(c)}" in page
        assert f'name="selected" value="{c.id}:1"' in page
    assert 'name="confirm" value="1"' in page
    assert ">Confirm</button>" in page
    assert _statuses(session, [c.id for c in comments]) == [Status.pending] * 3
    assert _audit(session, [c.id for c in comments]) == []


def test_confirming_changes_every_comment_with_one_audit_row_each(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    comments = [make_comment(f"c{i}") for i in range(4)]
    ids = [c.id for c in comments]
    login(client, "mod@example.org")
    code, _, location = _post_bulk(
        client, _selected(*comments), "reject", confirm=True, reason="fuera de tema"
    )
    assert code == 303 and location == "/queue?status=pending"
    assert _statuses(session, ids) == [Status.rejected] * 4
    audit = _audit(session, ids)
    assert sorted(audit) == sorted(
        (i, "mod@example.org", "bulk", "rejected", "fuera de tema") for i in ids
    )
    assert "4 comments are now Rejected." in _flash(client)


def test_comments_decided_meanwhile_are_skipped_and_named(
    client: FlaskClient,
    moderator: StaffUser,
    make_staff: Callable[..., StaffUser],
    make_comment: MakeComment,
    session: Session,
) -> None:
    luis = make_staff("luis@example.org")
    comments = [make_comment(f"c{i}") for i in range(4)]
    ids = [c.id for c in comments]
    selected = _selected(*comments)
    login(client, "mod@example.org")
    token = token_from(client, "/queue?status=pending")  # the moderator's page is now stale
    change_status(session, comments[1], Status.spam, expected_version=1, actor=luis)
    change_status(session, comments[3], Status.published, expected_version=1, actor=luis)
    session.commit()
    data = {"csrf_token": token, "selected": selected, "action": "approve", "confirm": "1"}
    response = client.post("/queue/bulk", data=data)
    assert response.status_code == 303
    assert _statuses(session, ids) == [
        Status.published,
        Status.spam,
        Status.published,
        Status.published,
    ]
    message = _flash(client)
    assert "2 comments are now Published." in message
    assert (
        f"2 had already been decided by others: #{ids[1]} (by luis@example.org), "
        f"#{ids[3]} (by luis@example.org)." in message
    )
    # Only the moderator's own two changes were audited as theirs; nothing was overwritten.
    mine = [row for row in _audit(session, ids) if row[1] == "mod@example.org"]
    assert sorted(row[0] for row in mine) == [ids[0], ids[2]]


def test_a_move_the_status_does_not_allow_is_skipped_and_reported(
    moderator: StaffUser, make_comment: MakeComment, session: Session, moderation_app: Flask
) -> None:
    pending = make_comment("pendiente")
    published = make_comment("publicado", Status.published)
    selection = [Selected(pending.id, 1), Selected(published.id, 1)]
    with moderation_app.test_request_context():
        outcome = apply_bulk(session, selection, Status.published, actor=moderator)
    assert outcome.changed == [pending.id]
    assert [s.submission_id for s in outcome.not_allowed] == [published.id]
    assert outcome.stale == []
    assert _statuses(session, [pending.id, published.id]) == [Status.published] * 2


def test_the_service_works_without_a_request(
    moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    comments = [make_comment(f"c{i}") for i in range(3)]
    outcome = apply_bulk(
        session, [Selected(c.id, 1) for c in comments], Status.spam, actor=moderator
    )
    assert sorted(outcome.changed) == sorted(c.id for c in comments)
    assert _statuses(session, [c.id for c in comments]) == [Status.spam] * 3


def test_selections_are_parsed_strictly_and_capped(moderation_app: Flask) -> None:
    with moderation_app.test_request_context(headers={"Accept-Language": "en"}):
        assert parse_selection(["3:1", "4:2", "3:1"]) == [Selected(3, 1), Selected(4, 2)]
        for bad in (["3"], ["x:1"], ["3:"], ["-1:1"], ["3:1:2"]):
            try:
                parse_selection(bad)
            except BadSelection:
                continue
            raise AssertionError(f"{bad} was accepted")
        try:
            parse_selection([f"{i}:1" for i in range(1, MAX_SELECTION + 2)])
        except BadSelection as too_many:
            assert f"at most {MAX_SELECTION}" in str(too_many)
        else:
            raise AssertionError("no cap")


def test_bad_selections_are_refused_with_a_message(
    client: FlaskClient,
    moderator: StaffUser,
    make_comment: MakeComment,
    session: Session,
    settings: Settings,
) -> None:
    comment = make_comment()
    tip = Submission(kind=Kind.tip, status=Status.new, sealed=seal(settings.tip_public_key, {}))
    session.add(tip)
    session.commit()
    tip_id = tip.id
    login(client, "mod@example.org")
    cases = [
        ([], "approve", "Select at least one comment."),
        (["abc"], "approve", "The selection could not be read; reload the page."),
        ([f"{comment.id}:1"], "publish-all", "Choose approve, reject or spam for the selection."),
        ([f"{tip_id}:1"], "spam", f"There is no comment #{tip_id}."),
        (["999999:1"], "spam", "There is no comment #999999."),
        (
            [f"{i}:1" for i in range(1, MAX_SELECTION + 2)],
            "approve",
            f"You selected {MAX_SELECTION + 1} comments; at most {MAX_SELECTION} can be "
            "changed at once.",
        ),
    ]
    code, page, _ = _post_bulk(
        client, [f"{comment.id}:1"], "reject", confirm=True, reason="x" * (limits.REASON_MAX + 1)
    )
    assert code == 400 and f"at most {limits.REASON_MAX} characters" in page
    for selected, action, message in cases:
        for confirm in (False, True):
            code, page, _ = _post_bulk(client, selected, action, confirm=confirm)
            assert code == 400, (selected, action, code)
            assert message in htmllib.unescape(page), (selected, page)
    assert _statuses(session, [comment.id]) == [Status.pending]
    assert _audit(session, [comment.id, tip_id]) == []


def test_bulk_needs_a_login(
    moderation_app: Flask, make_comment: MakeComment, session: Session
) -> None:
    comment = make_comment()
    anonymous = new_client(moderation_app)
    response = anonymous.post("/queue/bulk", data={"selected": [f"{comment.id}:1"]})
    assert response.status_code in (303, 400)
    assert _statuses(session, [comment.id]) == [Status.pending]


def test_a_decision_asked_for_as_json_answers_json(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment, session: Session
) -> None:
    comment = make_comment()
    login(client, "mod@example.org")
    token = token_from(client, "/queue?status=pending")
    response = client.post(
        f"/submissions/{comment.id}/status",
        data={"csrf_token": token, "to": "published", "version": "1", "reason": "ok"},
        headers=JSON,
    )
    assert response.status_code == 200
    body = response.get_json()
    event_id = session.scalar(select(AuditEvent.id).where(AuditEvent.submission_id == comment.id))
    session.commit()
    assert body == {
        "ok": True,
        "message": "Saved: the comment is now Published.",
        "status": "published",
        "status_label": "Published",
        "version": 2,
        "undo_url": f"/submissions/{comment.id}/undo",
        "undo_event": event_id,
    }
    # The undo it offers works as JSON too.
    undone = client.post(
        body["undo_url"],
        data={"csrf_token": token, "event": str(event_id), "version": "2"},
        headers=JSON,
    )
    assert undone.status_code == 200
    assert undone.get_json()["status"] == "pending" and undone.get_json()["version"] == 3
    assert _statuses(session, [comment.id]) == [Status.pending]


def test_a_stale_json_decision_is_refused_with_409_and_who_won(
    client: FlaskClient,
    moderator: StaffUser,
    make_staff: Callable[..., StaffUser],
    make_comment: MakeComment,
    session: Session,
) -> None:
    luis = make_staff("luis@example.org", Role.moderator)
    comment = make_comment()
    comment_id = comment.id
    login(client, "mod@example.org")
    token = token_from(client, "/queue?status=pending")
    change_status(session, comment, Status.spam, expected_version=1, actor=luis)
    session.commit()
    response = client.post(
        f"/submissions/{comment_id}/status",
        data={"csrf_token": token, "to": "published", "version": "1"},
        headers=JSON,
    )
    assert response.status_code == 409
    body = response.get_json()
    assert body["status"] == "spam" and body["version"] == 2
    assert body["error"].startswith("Already decided by luis@example.org at ")
    assert body["error"].endswith("; it is now Spam.")
    # A malformed one is a 400 with a message, not a page.
    bad = client.post(
        f"/submissions/{comment_id}/status",
        data={"csrf_token": token, "to": "gone", "version": "x"},
        headers=JSON,
    )
    assert bad.status_code == 400 and "error" in bad.get_json()
    # Someone else's decision cannot be undone by a moderator: 403 with the reason.
    event_id = session.scalar(select(AuditEvent.id).where(AuditEvent.submission_id == comment_id))
    session.commit()
    refused = client.post(
        f"/submissions/{comment_id}/undo",
        data={"csrf_token": token, "event": str(event_id), "version": "2"},
        headers=JSON,
    )
    assert refused.status_code == 403
    assert "only undo your own decisions" in refused.get_json()["error"]
    assert _statuses(session, [comment_id]) == [Status.spam]


def test_plain_forms_still_get_pages(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment
) -> None:
    comment = make_comment()
    login(client, "mod@example.org")
    token = token_from(client, "/queue?status=pending")
    response = client.post(
        f"/submissions/{comment.id}/status",
        data={"csrf_token": token, "to": "published", "version": "1", "next": "/queue"},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/queue"
    stale = client.post(
        f"/submissions/{comment.id}/status",
        data={"csrf_token": token, "to": "spam", "version": "1"},
    )
    assert stale.status_code == 409 and stale.mimetype == "text/html"
