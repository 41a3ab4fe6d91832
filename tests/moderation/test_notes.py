"""Moderators' notes on a comment: added from its page, audited without their text."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import limits
from core.models import AuditEvent, Note, StaffUser, Submission
from moderation.notes import add_note, list_notes
from tests.moderation.conftest import login, token_from

MakeComment = Callable[..., Submission]


def _notes(session: Session, submission: Submission) -> list[tuple[str, str]]:
    rows = session.execute(
        select(Note.author_label, Note.body).where(Note.submission_id == submission.id)
    ).all()
    session.commit()
    return [(label, body) for label, body in rows]


def test_add_note_keeps_the_note_and_audits_it_without_its_text(
    session: Session, moderator: StaffUser, make_comment: MakeComment
) -> None:
    submission = make_comment("hola")
    add_note(session, submission.id, moderator, "Ya avisé al autor por correo.")
    assert [n.body for n in list_notes(session, submission.id)] == ["Ya avisé al autor por correo."]
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.submission_id == submission.id)
    ).one()
    session.commit()
    assert (event.action, event.actor_label) == ("note", "mod@example.org")
    assert "avisé" not in event.reason


def test_a_moderator_adds_a_note_from_the_page_and_colleagues_read_it(
    client: FlaskClient, moderator: StaffUser, session: Session, make_comment: MakeComment
) -> None:
    submission = make_comment("hola")
    login(client, "mod@example.org")
    url = f"/submissions/{submission.id}"
    token = token_from(client, url)

    response = client.post(
        f"{url}/notes", data={"csrf_token": token, "note-body": "Posible cuenta falsa <b>"}
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{url}#notes")
    page = client.get(url).text
    assert "Note added." in page
    assert "Posible cuenta falsa &lt;b&gt;" in page
    assert "note added" in page  # the history row
    assert _notes(session, submission) == [("mod@example.org", "Posible cuenta falsa <b>")]


def test_an_empty_or_too_long_note_is_refused_with_a_form_error(
    client: FlaskClient, moderator: StaffUser, session: Session, make_comment: MakeComment
) -> None:
    submission = make_comment("hola")
    login(client, "mod@example.org")
    url = f"/submissions/{submission.id}"
    token = token_from(client, url)

    empty = client.post(f"{url}/notes", data={"csrf_token": token, "note-body": "   "})
    assert empty.status_code == 400
    assert "Write the note first." in empty.text

    too_long = "x" * (limits.NOTE_MAX + 1)
    long = client.post(f"{url}/notes", data={"csrf_token": token, "note-body": too_long})
    assert long.status_code == 400
    assert f"A note can be at most {limits.NOTE_MAX} characters long." in long.text
    assert "The note was not saved" in long.text
    assert _notes(session, submission) == []


def test_a_note_on_a_missing_comment_is_404_and_without_csrf_is_refused(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment
) -> None:
    submission = make_comment("hola")
    login(client, "mod@example.org")
    token = token_from(client, f"/submissions/{submission.id}")
    missing = client.post("/submissions/999999/notes", data={"csrf_token": token, "note-body": "x"})
    assert missing.status_code == 404
    forged = client.post(f"/submissions/{submission.id}/notes", data={"note-body": "x"})
    assert forged.status_code == 400
