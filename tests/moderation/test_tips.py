"""Tips on the staff site: opened with the newsroom's key, for editors, never logged."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Settings
from core.crypto import generate_keypair, seal
from core.enums import Kind, Role, Status, Verdict
from core.models import AuditEvent, CheckResult, StaffUser, Submission
from moderation import create_app
from tests.moderation.conftest import login, new_client, tab_count, token_from

TEXT = "El director de la empresa eléctrica <b>desvía</b> combustible.\nTengo los papeles."
CONTACT = "Signal +53 5 555 0101"


@pytest.fixture
def editor(make_staff: Callable[..., StaffUser]) -> StaffUser:
    """An editor account."""
    return make_staff("ed@example.org", Role.editor)


def _tip(
    session: Session, public_key: bytes, status: Status = Status.new, name: str = "Rosa"
) -> Submission:
    sealed = seal(public_key, {"text": TEXT, "contact": CONTACT, "name": name})
    tip = Submission(kind=Kind.tip, status=status, sealed=sealed)
    tip.check_results.append(
        CheckResult(
            name="length",
            version="1",
            verdict=Verdict.ok,
            score=0.0,
            reason="%(count)d characters",
            reason_params={"count": len(TEXT)},
        )
    )
    session.add(tip)
    session.commit()
    return tip


def test_editor_opens_a_tip_and_reads_it_escaped(
    client: FlaskClient,
    editor: StaffUser,
    session: Session,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tip = _tip(session, settings.tip_public_key)
    login(client, "ed@example.org")
    caplog.set_level(logging.DEBUG)

    listing = client.get("/tips")
    assert listing.status_code == 200
    assert tip.ref in listing.text and f"{len(TEXT)} characters" in listing.text
    assert "desvía" not in listing.text  # the list never opens tips

    page = client.get(f"/tips/{tip.id}")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "&lt;b&gt;desvía&lt;/b&gt; combustible.\nTengo los papeles." in page.text
    assert "<b>desvía</b>" not in page.text
    assert CONTACT in page.text and "Rosa" in page.text
    assert ">Start working on it</button>" in page.text
    # Opening a tip leaves nothing of it in the logs.
    assert "desvía" not in caplog.text and "555 0101" not in caplog.text


def test_tip_tabs_filter_by_status_with_counts(
    client: FlaskClient, editor: StaffUser, session: Session, settings: Settings
) -> None:
    new = _tip(session, settings.tip_public_key)
    closed = _tip(session, settings.tip_public_key, Status.closed)
    login(client, "ed@example.org")
    html = client.get("/tips").text
    assert new.ref in html and closed.ref not in html
    assert (tab_count(html, "new"), tab_count(html, "closed"), tab_count(html, "in_progress")) == (
        1,
        1,
        0,
    )
    assert closed.ref in client.get("/tips?status=closed").text


def test_triage_moves_a_tip_along_and_audits_it(
    client: FlaskClient, editor: StaffUser, session: Session, settings: Settings
) -> None:
    tip = _tip(session, settings.tip_public_key)
    url = f"/tips/{tip.id}"
    login(client, "ed@example.org")
    token = token_from(client, url)
    response = client.post(
        f"{url}/status", data={"csrf_token": token, "to": "in_progress", "version": "1"}
    )
    assert response.status_code == 303 and response.location == url
    page = client.get(url).text
    assert "Saved: the tip is now In progress." in page
    assert ">Mark as followed up</button>" in page

    stale = client.post(f"{url}/status", data={"csrf_token": token, "to": "closed", "version": "1"})
    assert stale.status_code == 409
    assert "Already decided by ed@example.org" in stale.text

    rows = session.execute(
        select(AuditEvent.actor_label, AuditEvent.from_status, AuditEvent.to_status).where(
            AuditEvent.submission_id == tip.id
        )
    ).all()
    session.commit()
    assert [tuple(r) for r in rows] == [("ed@example.org", "new", "in_progress")]


def test_without_the_private_key_the_page_says_so(
    settings: Settings, editor: StaffUser, session: Session
) -> None:
    tip = _tip(session, settings.tip_public_key)
    client = new_client(create_app(settings.with_overrides(tip_private_key=b"")))
    login(client, "ed@example.org")
    page = client.get(f"/tips/{tip.id}")
    assert page.status_code == 200
    assert "This staff site has no tip private key configured" in page.text
    assert tip.ref in page.text


def test_a_tip_sealed_to_another_key_is_reported_not_a_crash(
    client: FlaskClient, editor: StaffUser, session: Session
) -> None:
    tip = _tip(session, generate_keypair().public)
    login(client, "ed@example.org")
    page = client.get(f"/tips/{tip.id}")
    assert page.status_code == 200
    assert "could not be opened with this site&#39;s private key" in page.text


def test_tip_routes_do_not_serve_comments(
    client: FlaskClient, editor: StaffUser, session: Session, settings: Settings
) -> None:
    comment = Submission(kind=Kind.comment, status=Status.pending, author_name="A", body="hola")
    session.add(comment)
    session.commit()
    login(client, "ed@example.org")
    assert client.get(f"/tips/{comment.id}").status_code == 404
