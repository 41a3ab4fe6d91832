"""Sending a tip: guidance first, sealed content, nothing about the tipster kept or logged."""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient
from nacl.exceptions import CryptoError
from sqlalchemy.orm import Session

from core import limits
from core.config import Settings
from core.crypto import unseal
from core.enums import Kind, Status
from tests.intake.helpers import TIP, html, post_tip, submissions
from tests.support import Process, wait_for


def test_the_tip_form_gives_guidance_before_the_fields_and_works_without_scripts(
    intake_client: FlaskClient,
) -> None:
    response = intake_client.get("/tip", headers={"Accept-Language": "en"})
    page = html(response)

    assert response.status_code == 200
    guidance = page.index("Before you write: protect yourself")
    assert guidance < page.index("<form")
    for advice in (
        "not your employer",
        "Tor Browser",
        "only you could know",
        "never ask you for passwords",
    ):
        assert advice in page[guidance:]
    assert "<script" not in page
    assert '<form method="post" action="/tip"' in page
    # Labels tied to the fields.
    for name in ("text", "contact", "name"):
        assert f'<label class="field__label" for="{name}">' in page and f'id="{name}"' in page


def test_tip_pages_are_not_cached_and_send_no_referrer(
    quiet_client: FlaskClient, session: Session
) -> None:
    form = quiet_client.get("/tip")
    sent = post_tip(quiet_client)
    receipt = quiet_client.get(sent.headers["Location"])
    for response in (form, sent, receipt):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_a_tip_is_sealed_twice_and_nothing_about_the_tipster_is_stored(
    quiet_client: FlaskClient, quiet_settings: Settings, session: Session
) -> None:
    response = post_tip(
        quiet_client,
        text=TIP,
        contact="signal +53 5 555 0101",
        name="Fuente Anónima",
        headers={"Accept-Language": "en"},
    )

    [tip] = submissions(session)
    assert response.status_code == 303
    # The reference and the codename are shown once, on a page of their own (intake.sources).
    assert response.headers["Location"] == "/tip/codename#main"
    assert (tip.kind, tip.status, tip.article_id) == (Kind.tip, Status.received, None)
    assert (tip.body, tip.author_name, tip.email_hash, tip.ip_hash) == (None, None, None, None)
    assert tip.sealed is not None and tip.check_copy is not None
    content = {"text": TIP, "contact": "signal +53 5 555 0101", "name": "Fuente Anónima"}
    assert unseal(quiet_settings.tip_private_key, tip.sealed) == content
    assert unseal(quiet_settings.worker_private_key, tip.check_copy) == content
    # The language the tipster read the site in is not kept either.
    assert tip.locale == quiet_settings.default_locale
    row = repr({c.key: getattr(tip, c.key) for c in tip.__table__.columns})
    for secret in ("combustible", "555 0101", "Fuente"):
        assert secret not in row


def test_nothing_about_a_tip_is_logged(
    quiet_client: FlaskClient, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    post_tip(quiet_client, contact="fuente@example.org", name="Fuente Anónima")
    post_tip(quiet_client, text="corto", contact="fuente@example.org")  # refused: too short

    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in ("combustible", "fuente@example.org", "Fuente Anónima", "corto"):
        assert secret not in logged


def test_invalid_tips_get_errors_by_the_fields_and_keep_what_was_typed(
    quiet_client: FlaskClient, session: Session
) -> None:
    maximum = limits.BODY[Kind.tip].max
    response = post_tip(
        quiet_client,
        text="Muy corto",
        contact="c" * (limits.CONTACT_MAX + 1),
        name="Lázaro",
        headers={"Accept-Language": "en"},
    )
    page = html(response)
    assert response.status_code == 422
    assert f"Write at least {limits.BODY[Kind.tip].min} characters." in page
    assert f"Use at most {limits.CONTACT_MAX} characters" in page
    assert "Muy corto</textarea>" in page and 'value="Lázaro"' in page
    assert 'class="error-summary"' in page

    too_long = post_tip(quiet_client, text="x " * maximum, headers={"Accept-Language": "en"})
    assert too_long.status_code == 422
    assert f"Use at most {maximum} characters" in html(too_long)
    assert submissions(session) == []


def test_contact_and_name_are_optional(quiet_client: FlaskClient, session: Session) -> None:
    assert post_tip(quiet_client, contact="", name="").status_code == 303
    [tip] = submissions(session)
    assert tip.sealed is not None


def test_the_worker_checks_a_tip(
    intake_client: FlaskClient, settings: Settings, session: Session, worker: Process, beat: Process
) -> None:
    assert post_tip(intake_client).status_code == 303
    wait_for(
        lambda: submissions(session)[0].status == Status.new,
        timeout=30,
        what="the worker to file the tip as new",
    )


def test_without_a_tip_key_the_form_says_tips_are_not_open_and_stores_nothing(
    settings: Settings, session: Session
) -> None:
    from intake import create_app

    # No key in the database and none configured: no one could ever read the tip.
    client = create_app(settings.with_overrides(tip_public_key=b"")).test_client()
    response = post_tip(client, headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert "not taking tips through this site yet" in response.text
    assert "Nothing you wrote was stored." in response.text
    assert submissions(session) == []


def test_once_an_editor_holds_a_key_tips_are_sealed_to_it(
    quiet_client: FlaskClient, quiet_settings: Settings, session: Session
) -> None:
    from core import tipkeys
    from tests.support_tips import EDITOR_PASSWORD, make_editor_with_tip_key

    editor = make_editor_with_tip_key(session)
    post_tip(quiet_client, text=TIP)
    [tip] = submissions(session)
    keys = tipkeys.unlock(session, editor, EDITOR_PASSWORD)
    assert tip.sealed is not None
    assert tipkeys.open_sealed(keys, None, tip.sealed)["text"] == TIP
    # The configured key (an install from before keys moved into the database) is not used.
    with pytest.raises(CryptoError):
        unseal(quiet_settings.tip_private_key, tip.sealed)
