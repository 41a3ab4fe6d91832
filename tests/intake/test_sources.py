"""The source's way back: a codename shown once, the page it opens, follow-ups, and throttling."""

from __future__ import annotations

import io
import logging
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core import codenames, tipkeys
from core.db import utcnow
from core.enums import TipMessageKind
from core.models import Attachment, StaffUser, Submission, TipDetails, TipMessage
from intake.sources import CODENAME_LIMIT, set_guess_limits
from moderation.tip_replies import add_reply
from tests.intake.helpers import TIP, html, post_tip, token
from tests.support import csrf_token
from tests.support_tips import EDITOR_PASSWORD, make_editor_with_tip_key

CODENAME_RE = re.compile(r'class="reference__code codename"[^>]*>([^<]+)<')
PER_MINUTE = int(CODENAME_LIMIT.split(" ")[0])


@pytest.fixture
def editor(session: Session) -> StaffUser:
    """An editor holding the newsroom's tip key (so the public site can take tips)."""
    return make_editor_with_tip_key(session)


@pytest.fixture
def client(intake_app: Flask, editor: StaffUser) -> FlaskClient:
    """A browser reading the public site in English, on a site whose tip key is set up."""
    client = intake_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def send_tip(client: FlaskClient) -> str:
    """Send a tip like a browser and read the codename off the page it is shown on."""
    sent = post_tip(client)
    assert sent.status_code == 303
    page = html(client.get(sent.headers["Location"]))
    match = CODENAME_RE.search(page)
    assert match, "no codename on the page after sending"
    return match.group(1)


def enter(client: FlaskClient, codename: str) -> TestResponse:
    """Type `codename` into the come-back form."""
    return client.post(
        "/tip/return", data={"csrf_token": token(client, "/tip/return"), "codename": codename}
    )


def the_tip(session: Session) -> tuple[Submission, TipDetails]:
    session.expire_all()
    submission = session.scalars(select(Submission)).one()
    details = session.get(TipDetails, submission.id)
    assert details is not None
    session.commit()
    return submission, details


def test_after_a_tip_the_codename_is_shown_once_with_a_warning(
    client: FlaskClient, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sent = post_tip(client)
    assert sent.status_code == 303
    assert sent.headers["Location"] == "/tip/codename#main"

    shown = client.get("/tip/codename")
    page = html(shown)
    match = CODENAME_RE.search(page)
    assert match
    codename = match.group(1)
    words = codename.split(" ")
    assert len(words) >= 7 and set(words) <= set(codenames.wordlist("en"))
    assert "write it down now" in page and "shown only this once" in page
    submission, _ = the_tip(session)
    assert submission.ref in page
    assert shown.headers["Cache-Control"] == "no-store"
    assert "<script" not in page

    again = html(client.get("/tip/codename"))
    assert "Codename already shown" in again and codename not in again
    # Never in a log, and never in an address the browser was sent to.
    assert codename not in "\n".join(r.getMessage() for r in caplog.records)
    assert words[0] not in sent.headers["Location"]


def test_a_spanish_page_gives_a_spanish_codename(client: FlaskClient) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    words = send_tip(client).split(" ")
    assert len(words) == 8 and set(words) <= set(codenames.wordlist("es"))


def test_the_database_keeps_a_hash_not_the_codename(client: FlaskClient, session: Session) -> None:
    codename = send_tip(client)
    _, details = the_tip(session)

    assert details.codename_hash and details.codename_hash != codename
    rows = [
        repr(tuple(row))
        for table in ("tip_details", "submissions")
        for row in session.execute(text(f"SELECT * FROM {table}"))  # noqa: S608
    ]
    session.commit()
    dump = "\n".join(rows)
    for form in (codename, codename.replace(" ", ""), codename.upper()):
        assert form not in dump


def test_the_right_codename_shows_the_newsrooms_reply(
    client: FlaskClient, session: Session, editor: StaffUser
) -> None:
    codename = send_tip(client)
    submission, _ = the_tip(session)
    add_reply(session, submission, editor, "Gracias. ¿Tiene copia del contrato de 2024?")

    # Capitals and extra spaces do not matter.
    entered = enter(client, "  " + codename.upper().replace(" ", "  ") + " ")
    assert entered.status_code == 303
    assert entered.headers["Location"] == "/tip/return#main"
    page = html(client.get("/tip/return"))
    assert "The newsroom replied" in page
    assert "¿Tiene copia del contrato de 2024?" in page
    assert submission.ref in page
    assert "<script" not in page


def test_wrong_and_expired_codenames_are_refused_the_same_way(
    client: FlaskClient, session: Session
) -> None:
    codename = send_tip(client)
    session.execute(update(TipDetails).values(codename_expires_at=utcnow()))
    session.commit()

    expired = enter(client, codename)
    wrong = enter(client, codenames.generate("en"))

    assert expired.status_code == wrong.status_code == 422
    token_free = [re.sub(r'value="[^"]*"', "", html(r)) for r in (expired, wrong)]
    assert token_free[0] == token_free[1]
    assert "This codename does not work" in token_free[0]
    assert "Your tip" not in html(client.get("/tip/return"))


def test_an_empty_codename_gets_a_message_by_the_field(client: FlaskClient) -> None:
    response = enter(client, "   ")
    assert response.status_code == 422
    assert "Enter the codename you were given" in html(response)


def test_a_thousand_guesses_are_throttled(client: FlaskClient, session: Session) -> None:
    codename = send_tip(client)
    csrf = token(client, "/tip/return")
    statuses = []
    throttled = None
    for _ in range(1000):
        response = client.post(
            "/tip/return", data={"csrf_token": csrf, "codename": codenames.generate("en")}
        )
        statuses.append(response.status_code)
        if response.status_code == 429 and throttled is None:
            throttled = response
    assert statuses.count(422) <= PER_MINUTE
    assert statuses.count(429) >= 1000 - PER_MINUTE
    assert set(statuses) == {422, 429}
    assert throttled is not None
    assert int(throttled.headers["Retry-After"]) > 0
    assert "Too many codenames were tried" in html(throttled)
    # Even the right codename waits now: the throttle does not look at what is guessed.
    assert enter(client, codename).status_code == 429


def test_guesses_spread_over_many_networks_hit_the_sites_limit(
    intake_app: Flask, client: FlaskClient
) -> None:
    # The site's own figure, scaled down: each allowed guess costs a slow hash.
    set_guess_limits(intake_app, site="20 per minute")
    csrf = token(client, "/tip/return")
    statuses = []
    for n in range(60):
        response = client.post(
            "/tip/return",
            data={"csrf_token": csrf, "codename": codenames.generate("en")},
            environ_overrides={"REMOTE_ADDR": f"198.51.100.{n + 1}"},
        )
        statuses.append(response.status_code)
    assert statuses.count(422) == 20
    assert statuses.count(429) == 40


def test_a_follow_up_is_sealed_for_the_newsroom_and_marks_the_tip_active(
    client: FlaskClient, session: Session, editor: StaffUser
) -> None:
    codename = send_tip(client)
    submission, details = the_tip(session)
    before = details.last_activity_at
    assert enter(client, codename).status_code == 303

    page = client.get("/tip/return")
    sent = client.post(
        "/tip/return/followup",
        data={"csrf_token": csrf_token(html(page)), "text": "Tengo fotos del almacén, 3 de mayo."},
    )
    assert sent.status_code == 303
    after = html(client.get("/tip/return"))
    assert "Your message was sent" in after and "You wrote" in after

    session.expire_all()
    [message] = session.scalars(select(TipMessage)).all()
    now = session.get(TipDetails, submission.id)
    assert now is not None
    assert message.kind is TipMessageKind.followup and message.sealed_for_source is None
    assert b"almac" not in message.sealed
    assert now.last_activity_at > before
    keys = tipkeys.unlock(session, editor, EDITOR_PASSWORD)
    opened = tipkeys.open_sealed(keys, message.tip_key_id, message.sealed)
    assert opened == {"text": "Tengo fotos del almacén, 3 de mayo."}


def test_an_empty_follow_up_is_refused_with_a_message(
    client: FlaskClient, session: Session
) -> None:
    codename = send_tip(client)
    enter(client, codename)
    csrf = csrf_token(html(client.get("/tip/return")))
    response = client.post("/tip/return/followup", data={"csrf_token": csrf, "text": "  "})
    assert response.status_code == 422
    assert "Write a message or choose a file first." in html(response)
    assert session.scalars(select(TipMessage)).all() == []


def test_a_follow_up_can_carry_files(client: FlaskClient, session: Session) -> None:
    codename = send_tip(client)
    enter(client, codename)
    csrf = csrf_token(html(client.get("/tip/return")))
    sent = client.post(
        "/tip/return/followup",
        data={
            "csrf_token": csrf,
            "text": "",
            "files": (io.BytesIO(b"Lista de camiones, mayo.\n"), "lista-secreta.txt"),
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303
    assert "With 1 file." in html(client.get("/tip/return"))
    [message] = session.scalars(select(TipMessage)).all()
    [attachment] = session.scalars(select(Attachment)).all()
    assert attachment.message_id == message.id
    assert b"lista-secreta" not in attachment.sealed_meta


def test_leaving_ends_the_visit_and_a_follow_up_then_needs_the_codename(
    client: FlaskClient, session: Session
) -> None:
    codename = send_tip(client)
    enter(client, codename)
    csrf = csrf_token(html(client.get("/tip/return")))
    left = client.post("/tip/return/leave", data={"csrf_token": csrf})
    assert left.status_code == 303
    page = html(client.get("/tip/return"))
    assert "You have left" in page and 'name="codename"' in page

    late = client.post("/tip/return/followup", data={"csrf_token": csrf, "text": "Otra cosa"})
    assert late.status_code == 303
    assert "Enter your codename again" in html(client.get(late.headers["Location"]))
    assert session.scalars(select(TipMessage)).all() == []


def test_the_tip_form_links_to_the_way_back(client: FlaskClient) -> None:
    page = html(client.get("/tip"))
    assert '<a href="/tip/return">Come back with your codename</a>' in page
    form = html(client.get("/tip/return"))
    assert '<form method="post" action="/tip/return"' in form and "<script" not in form


def test_a_bot_that_fills_the_honeypot_gets_a_codename_page_and_nothing_is_stored(
    client: FlaskClient, session: Session
) -> None:
    sent = post_tip(client, text=TIP, topic="spam")
    assert sent.headers["Location"] == "/tip/codename#main"
    assert CODENAME_RE.search(html(client.get("/tip/codename")))
    assert session.scalars(select(Submission)).all() == []
