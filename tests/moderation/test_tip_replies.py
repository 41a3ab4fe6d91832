"""Replying to a tip's source from the staff site, and reading what they sent since."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import codenames, tipkeys
from core.config import Settings
from core.enums import Role, Status, TipMessageKind
from core.models import AuditEvent, StaffUser, Submission, TipDetails, TipMessage
from core.staff import create_staff_user
from intake.submissions import record_tip
from moderation.tip_replies import AUDIT_ACTION
from tests.moderation.conftest import login, new_client, token_from
from tests.support import csrf_token
from tests.support_tips import EDITOR_PASSWORD, make_editor_with_tip_key

REPLY = "Gracias por escribir. ¿Puede decirnos la fecha exacta del envío?"


@pytest.fixture
def editor(session: Session) -> StaffUser:
    """An editor holding the tip key."""
    return make_editor_with_tip_key(session)


@pytest.fixture
def staff(moderation_app: Flask, editor: StaffUser) -> FlaskClient:
    """The staff site, logged in as the editor (so the login unlocked the tip key)."""
    client = new_client(moderation_app)
    assert login(client, editor.email, EDITOR_PASSWORD).status_code == 303
    return client


def add_tip(session: Session, settings: Settings, *, codename: bool = True) -> tuple[int, str]:
    """A tip as the public site stores it (with a codename, unless sent before they existed)."""
    tip = record_tip(session, settings, text="Desvían el combustible.", contact=None, name=None)
    word = ""
    if codename:
        word = codenames.issue(session, settings, tip.details, "es")
    session.execute(update(Submission).where(Submission.ref == tip.ref).values(status=Status.new))
    session.commit()
    return tip.details.submission_id, word


def reply(staff: FlaskClient, submission_id: int, body: str) -> tuple[int, str]:
    page = f"/tips/{submission_id}"
    response = staff.post(
        f"{page}/replies", data={"csrf_token": token_from(staff, page), "reply-body": body}
    )
    return response.status_code, response.get_data(as_text=True)


def test_an_editor_replies_and_only_the_codename_opens_the_sources_copy(
    staff: FlaskClient, session: Session, settings: Settings, editor: StaffUser
) -> None:
    submission_id, codename = add_tip(session, settings)
    page = staff.get(f"/tips/{submission_id}").get_data(as_text=True)
    assert "Conversation with the source" in page and 'name="reply-body"' in page

    status, _ = reply(staff, submission_id, REPLY)
    assert status == 303
    page = staff.get(f"/tips/{submission_id}").get_data(as_text=True)
    assert REPLY in page and f"{editor.email} replied" in page

    session.expire_all()
    [message] = session.scalars(select(TipMessage)).all()
    details = session.get(TipDetails, submission_id)
    assert details is not None
    assert (message.kind, message.author_id, message.author_label) == (
        TipMessageKind.reply,
        editor.id,
        editor.email,
    )
    # Colleagues read it with the tip key...
    keys = tipkeys.unlock(session, editor, EDITOR_PASSWORD)
    assert tipkeys.open_sealed(keys, message.tip_key_id, message.sealed) == {"text": REPLY}
    # ...the source with their codename, and nobody with another codename or the tip key.
    assert message.sealed_for_source is not None
    mine = codenames.derive(settings.hash_key, codename)
    assert codenames.open_for_source(mine.private_key, message.sealed_for_source) == {"text": REPLY}
    other = codenames.derive(settings.hash_key, codenames.generate("es"))
    with pytest.raises(codenames.CodenameError):
        codenames.open_for_source(other.private_key, message.sealed_for_source)
    with pytest.raises(tipkeys.TipKeyError):
        tipkeys.open_sealed(keys, message.tip_key_id, message.sealed_for_source)
    assert b"fecha" not in message.sealed and b"fecha" not in message.sealed_for_source
    # A codename that got a reply keeps working.
    assert details.codename_expires_at is None
    # Audited, without the text.
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == AUDIT_ACTION)).all()
    assert [(e.actor_id, e.submission_id, e.reason) for e in events] == [
        (editor.id, submission_id, "")
    ]


def test_a_follow_up_shows_up_unread_and_the_editor_reads_it(
    staff: FlaskClient, session: Session, settings: Settings, intake_app: Flask
) -> None:
    submission_id, codename = add_tip(session, settings)
    staff.get(f"/tips/{submission_id}")  # read now
    session.expire_all()
    before = session.get(TipDetails, submission_id)
    assert before is not None
    activity_before = before.last_activity_at
    session.commit()
    assert "tip-unread-mark" not in staff.get("/tips?status=new").get_data(as_text=True)

    source = intake_app.test_client()
    form = source.get("/tip/return").get_data(as_text=True)
    entered = source.post(
        "/tip/return", data={"csrf_token": csrf_token(form), "codename": codename}
    )
    assert entered.status_code == 303
    page = source.get("/tip/return").get_data(as_text=True)
    sent = source.post(
        "/tip/return/followup",
        data={"csrf_token": csrf_token(page), "text": "Ayer llegó otro camión."},
    )
    assert sent.status_code == 303

    session.expire_all()
    after = session.get(TipDetails, submission_id)
    assert after is not None and after.last_activity_at > activity_before
    session.commit()
    listing = staff.get("/tips?status=new").get_data(as_text=True)
    assert re.search(r'class="tip-unread-mark"', listing)
    tip_page = staff.get(f"/tips/{submission_id}").get_data(as_text=True)
    assert "The source wrote" in tip_page and "Ayer llegó otro camión." in tip_page


def test_a_tip_without_a_codename_cannot_be_replied_to(
    staff: FlaskClient, session: Session, settings: Settings
) -> None:
    submission_id, _ = add_tip(session, settings, codename=False)
    page = staff.get(f"/tips/{submission_id}").get_data(as_text=True)
    assert "This source cannot be replied to" in page
    assert 'name="reply-body"' not in page

    status, body = reply(staff, submission_id, REPLY)
    assert status == 400
    assert "This source cannot be replied to" in body
    assert session.scalars(select(TipMessage)).all() == []


def test_an_empty_reply_is_refused_with_a_message(
    staff: FlaskClient, session: Session, settings: Settings
) -> None:
    submission_id, _ = add_tip(session, settings)
    status, body = reply(staff, submission_id, "   ")
    assert status == 400
    assert "Write the reply first." in body
    assert session.scalars(select(TipMessage)).all() == []


def test_an_editor_whose_login_unlocked_no_key_is_told_so(
    moderation_app: Flask, session: Session, settings: Settings, editor: StaffUser
) -> None:
    submission_id, _ = add_tip(session, settings)
    # A new editor nobody granted the tip key to: they may reply (sealing needs no key) but
    # cannot read the conversation.
    newcomer = create_staff_user(session, "new@example.org", EDITOR_PASSWORD, Role.editor)
    session.commit()
    client = new_client(moderation_app)
    login(client, newcomer.email, EDITOR_PASSWORD)
    status, _ = reply(client, submission_id, REPLY)
    assert status == 303
    page = client.get(f"/tips/{submission_id}").get_data(as_text=True)
    assert "Your login has not unlocked the tip key" in page
    assert REPLY not in page
