"""Tips on the staff site: opened with the keys the editor's login unlocked, never logged."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from nacl.public import PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tipkeys
from core.enums import Kind, Role, Status, Verdict
from core.models import AuditEvent, CheckResult, StaffUser, Submission, TipDetails
from tests.moderation.conftest import login, tab_count, token_from
from tests.support_tips import EDITOR_PASSWORD, make_editor_with_tip_key

TEXT = "El director de la empresa eléctrica <b>desvía</b> combustible.\nTengo los papeles."
CONTACT = "Signal +53 5 555 0101"
NO_KEY = "Your login has not unlocked the tip key: log out and in again, or ask an editor"


@pytest.fixture
def editor(session: Session) -> StaffUser:
    """An editor holding the tip key (logged in through the form, their login unlocks it)."""
    return make_editor_with_tip_key(session, "ed@example.org", EDITOR_PASSWORD)


def _tip(
    session: Session,
    status: Status = Status.new,
    name: str = "Rosa",
    key: tipkeys.PublicTipKey | None = None,
) -> Submission:
    current = tipkeys.current_public_key(session)
    assert current is not None
    sealed = tipkeys.seal_to(key or current, {"text": TEXT, "contact": CONTACT, "name": name})
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
    session.add_all([tip, TipDetails(submission=tip, tip_key_id=current.id)])
    session.commit()
    return tip


def test_editor_opens_a_tip_and_reads_it_escaped(
    client: FlaskClient,
    editor: StaffUser,
    session: Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tip = _tip(session)
    login(client, "ed@example.org", EDITOR_PASSWORD)
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
    client: FlaskClient, editor: StaffUser, session: Session
) -> None:
    new = _tip(session)
    closed = _tip(session, Status.closed)
    login(client, "ed@example.org", EDITOR_PASSWORD)
    html = client.get("/tips").text
    assert new.ref in html and closed.ref not in html
    assert (tab_count(html, "new"), tab_count(html, "closed"), tab_count(html, "in_progress")) == (
        1,
        1,
        0,
    )
    assert closed.ref in client.get("/tips?status=closed").text


def test_triage_moves_a_tip_along_and_audits_it(
    client: FlaskClient, editor: StaffUser, session: Session
) -> None:
    tip = _tip(session)
    url = f"/tips/{tip.id}"
    login(client, "ed@example.org", EDITOR_PASSWORD)
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
            AuditEvent.submission_id == tip.id, AuditEvent.to_status.is_not(None)
        )
    ).all()
    session.commit()
    assert [tuple(r) for r in rows] == [("ed@example.org", "new", "in_progress")]


def test_closing_a_tip_records_when_and_reopening_clears_it(
    client: FlaskClient, editor: StaffUser, session: Session
) -> None:
    tip = _tip(session)
    url = f"/tips/{tip.id}"
    login(client, "ed@example.org", EDITOR_PASSWORD)
    token = token_from(client, url)
    closed = client.post(
        f"{url}/status", data={"csrf_token": token, "to": "closed", "version": "1"}
    )
    assert closed.status_code == 303
    session.expire_all()
    details = session.get(TipDetails, tip.id)
    assert details is not None and details.closed_at is not None
    # Undone (the undo form of the same page): open again, no longer counting towards purging.
    event = session.scalar(select(AuditEvent.id).where(AuditEvent.to_status == "closed"))
    session.commit()  # SQLite: a test's open transaction would lock out the app
    assert "Closed" in client.get(url).text
    undone = client.post(
        f"{url}/undo", data={"csrf_token": token, "event": str(event), "version": "2"}
    )
    assert undone.status_code == 303
    session.expire_all()
    details = session.get(TipDetails, tip.id)
    assert details is not None and details.closed_at is None
    session.commit()


def test_an_editor_whose_login_holds_no_key_is_told_what_to_do(
    editor: StaffUser,
    session: Session,
    client: FlaskClient,
    make_staff: Callable[..., StaffUser],
) -> None:
    tip = _tip(session)
    make_staff("second@example.org", Role.editor)
    login(client, "second@example.org")
    page = client.get(f"/tips/{tip.id}")
    assert page.status_code == 200
    assert NO_KEY in page.text and "`tipline tips grant`" in page.text
    assert tip.ref in page.text and "desvía" not in page.text


def test_a_tip_sealed_to_another_key_is_reported_not_a_crash(
    client: FlaskClient, editor: StaffUser, session: Session
) -> None:
    current = tipkeys.current_public_key(session)
    assert current is not None
    stranger = tipkeys.PublicTipKey(current.id, bytes(PrivateKey.generate().public_key))
    tip = _tip(session, key=stranger)
    login(client, "ed@example.org", EDITOR_PASSWORD)
    page = client.get(f"/tips/{tip.id}")
    assert page.status_code == 200
    assert "could not be opened with the tip keys your login unlocked" in page.text


def test_tip_routes_do_not_serve_comments(
    client: FlaskClient, editor: StaffUser, session: Session
) -> None:
    comment = Submission(kind=Kind.comment, status=Status.pending, author_name="A", body="hola")
    session.add(comment)
    session.commit()
    login(client, "ed@example.org", EDITOR_PASSWORD)
    assert client.get(f"/tips/{comment.id}").status_code == 404
