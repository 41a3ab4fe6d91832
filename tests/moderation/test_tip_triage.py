"""The triage desk: assignee, labels, star, keep, read marks, sealed notes, the list's filters."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from core import limits, tipkeys
from core.db import utcnow
from core.enums import Kind, Role, Status
from core.models import (
    AuditEvent,
    Note,
    StaffUser,
    Submission,
    TipDetails,
    TipLabel,
    TipMessage,
    TipRead,
)
from moderation.review import PER_PAGE
from tests.moderation.conftest import login, new_client, token_from
from tests.support_tips import EDITOR_PASSWORD, make_editor_with_tip_key

ED = "ed@example.org"
NO_KEY = "Your login has not unlocked the tip key: log out and in again, or ask an editor"
NOTE = "La fuente trabaja en el ministerio-nota-9c2e"


@pytest.fixture
def editor(session: Session) -> StaffUser:
    """An editor holding the tip key."""
    return make_editor_with_tip_key(session, ED, EDITOR_PASSWORD)


@pytest.fixture
def ed_client(client: FlaskClient, editor: StaffUser) -> FlaskClient:
    """The editor, logged in through the form (which unlocks their tip key)."""
    login(client, ED, EDITOR_PASSWORD)
    return client


def _tip(session: Session, status: Status = Status.new, minutes_ago: float = 0) -> Submission:
    key = tipkeys.current_public_key(session)
    assert key is not None
    created = utcnow() - timedelta(minutes=minutes_ago)
    tip = Submission(
        kind=Kind.tip,
        status=status,
        sealed=tipkeys.seal_to(key, {"text": "Texto de la fuente", "contact": "", "name": ""}),
        created_at=created,
        updated_at=created,
    )
    session.add_all([tip, TipDetails(submission=tip, tip_key_id=key.id, last_activity_at=created)])
    session.commit()
    return tip


def _audit(session: Session, tip: Submission) -> list[tuple[str, str, str]]:
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.actor_label, AuditEvent.reason)
        .where(AuditEvent.submission_id == tip.id)
        .order_by(AuditEvent.id)
    ).all()
    session.commit()  # SQLite: an open transaction of the test would lock the app out
    return [(a, b, c) for a, b, c in rows]


def _details(session: Session, tip: Submission) -> TipDetails:
    details = session.get(TipDetails, tip.id, populate_existing=True)
    # Not expire_all(): a later attribute load would open a transaction that locks SQLite.
    session.commit()
    assert details is not None
    return details


def _row(html: str, ref: str) -> str:
    """The list's table row of the tip `ref`."""
    for row in re.findall(r"<tr[^>]*>.*?</tr>", html, re.DOTALL):
        if ref in row:
            return str(row)
    raise AssertionError(f"{ref} is not listed")


def _listed(html: str, *tips: Submission) -> list[bool]:
    return [tip.ref in html for tip in tips]


def test_assign_label_star_keep_round_trip_with_audit_rows(
    ed_client: FlaskClient,
    editor: StaffUser,
    session: Session,
    make_staff: Callable[..., StaffUser],
) -> None:
    colleague = make_staff("colleague@example.org", Role.admin)
    tip = _tip(session)
    url = f"/tips/{tip.id}"
    token = token_from(ed_client, url)

    assigned = ed_client.post(
        f"{url}/assignee", data={"csrf_token": token, "assignee": str(colleague.id)}
    )
    assert assigned.status_code == 303 and assigned.location == f"{url}#triage"
    page = ed_client.get(url).text
    assert "Assignee saved." in page
    assert f'<option value="{colleague.id}" selected>colleague@example.org' in page
    assert _details(session, tip).assignee_id == colleague.id

    label = ed_client.post(f"{url}/labels", data={"csrf_token": token, "label": "  Needs  LAWYER "})
    assert label.status_code == 303
    again = ed_client.post(f"{url}/labels", data={"csrf_token": token, "label": "needs lawyer"})
    assert again.status_code == 303
    assert "The tip has that label already." in ed_client.get(url).text
    ed_client.post(f"{url}/labels", data={"csrf_token": token, "label": "elecciones"})
    listing = ed_client.get("/tips").text
    assert "needs lawyer" in _row(listing, tip.ref) and "elecciones" in _row(listing, tip.ref)
    ed_client.post(f"{url}/labels/remove", data={"csrf_token": token, "label": "elecciones"})
    assert "elecciones" not in _row(ed_client.get("/tips").text, tip.ref)

    assert (
        ed_client.post(f"{url}/star", data={"csrf_token": token, "value": "1"}).status_code == 303
    )
    assert "★" in _row(ed_client.get("/tips").text, tip.ref)
    assert "Remove the star" in ed_client.get(url).text
    ed_client.post(f"{url}/star", data={"csrf_token": token, "value": "0"})
    assert "★" not in _row(ed_client.get("/tips").text, tip.ref)

    ed_client.post(f"{url}/keep", data={"csrf_token": token, "value": "1"})
    assert _details(session, tip).keep is True
    assert "Marked to keep: it will not be purged." in ed_client.get(url).text
    ed_client.post(f"{url}/keep", data={"csrf_token": token, "value": "0"})
    assert _details(session, tip).keep is False

    ed_client.post(f"{url}/assignee", data={"csrf_token": token, "assignee": ""})
    assert _details(session, tip).assignee_id is None

    assert _audit(session, tip) == [
        ("tip_assign", ED, "colleague@example.org"),
        ("tip_label", ED, "needs lawyer"),
        ("tip_label", ED, "elecciones"),
        ("tip_unlabel", ED, "elecciones"),
        ("tip_star", ED, ""),
        ("tip_unstar", ED, ""),
        ("tip_keep", ED, ""),
        ("tip_unkeep", ED, ""),
        ("tip_unassign", ED, ""),
    ]
    # The history on the tip's page names each change.
    history = ed_client.get(url).text
    for name in ("tip assigned", "label added", "label removed", "starred", "keep mark removed"):
        assert name in history


def test_bad_desk_input_gets_a_message_not_a_change(
    ed_client: FlaskClient, session: Session, make_staff: Callable[..., StaffUser]
) -> None:
    moderator = make_staff("mod@example.org", Role.moderator)
    tip = _tip(session)
    url = f"/tips/{tip.id}"
    token = token_from(ed_client, url)

    to_moderator = ed_client.post(
        f"{url}/assignee", data={"csrf_token": token, "assignee": str(moderator.id)}
    )
    assert to_moderator.status_code == 400
    assert "A tip can only be given to an active editor or admin." in to_moderator.text

    too_long = ed_client.post(
        f"{url}/labels", data={"csrf_token": token, "label": "x" * (limits.TIP_LABEL_MAX + 1)}
    )
    assert too_long.status_code == 400
    assert f"A label can be at most {limits.TIP_LABEL_MAX} characters long." in too_long.text

    for n in range(limits.TIP_LABELS_MAX):
        ed_client.post(f"{url}/labels", data={"csrf_token": token, "label": f"label {n}"})
    one_more = ed_client.post(f"{url}/labels", data={"csrf_token": token, "label": "one more"})
    assert one_more.status_code == 400
    assert f"A tip can have at most {limits.TIP_LABELS_MAX} labels" in one_more.text

    bad_switch = ed_client.post(f"{url}/star", data={"csrf_token": token, "value": "maybe"})
    assert bad_switch.status_code == 400
    expired = ed_client.post(f"{url}/star", data={"csrf_token": "stale", "value": "1"})
    assert expired.status_code == 400 and "Reload the page and send it again." in expired.text
    empty_note = ed_client.post(f"{url}/notes", data={"note-csrf_token": token, "note-body": " "})
    assert empty_note.status_code == 400 and "Write the note first." in empty_note.text

    labels = session.scalars(select(TipLabel.label).where(TipLabel.submission_id == tip.id)).all()
    session.commit()
    assert len(labels) == limits.TIP_LABELS_MAX and "one more" not in labels
    assert _details(session, tip).assignee_id is None and not _details(session, tip).starred


def test_labels_in_use_are_suggested(ed_client: FlaskClient, session: Session) -> None:
    first, second = _tip(session), _tip(session)
    token = token_from(ed_client, f"/tips/{first.id}")
    ed_client.post(f"/tips/{first.id}/labels", data={"csrf_token": token, "label": "Corrupción"})
    page = ed_client.get(f"/tips/{second.id}").text
    assert '<datalist id="tip-label-list">' in page
    assert '<option value="corrupción">' in page


def test_a_note_is_sealed_shown_opened_and_audited_without_its_text(
    ed_client: FlaskClient, editor: StaffUser, session: Session
) -> None:
    tip = _tip(session)
    url = f"/tips/{tip.id}"
    token = token_from(ed_client, url)
    added = ed_client.post(
        f"{url}/notes", data={"note-csrf_token": token, "note-body": f"{NOTE} <script>"}
    )
    assert added.status_code == 303 and added.location == f"{url}#notes"
    page = ed_client.get(url).text
    assert "Internal note added." in page
    assert f"{NOTE} &lt;script&gt;" in page and "internal note added" in page

    note = session.scalars(select(TipMessage).where(TipMessage.submission_id == tip.id)).one()
    key = tipkeys.current_key(session)
    assert key is not None
    assert (note.kind.value, note.author_label, note.tip_key_id) == ("note", ED, key.id)
    # Every byte of the stored row, as the database returns it: no trace of the note.
    raw = session.execute(text("SELECT * FROM tip_messages")).all()
    audit_reasons = session.scalars(select(AuditEvent.reason)).all()
    plain_notes = session.scalars(select(Note)).all()
    session.commit()
    assert len(raw) == 1
    dump = b"".join(value if isinstance(value, bytes) else str(value).encode() for value in raw[0])
    marker = NOTE.encode()
    assert marker not in dump and b"ministerio" not in dump
    assert all("ministerio" not in reason for reason in audit_reasons)
    assert plain_notes == []  # the comments' plaintext notes table is not used for tips


def test_list_filters_by_label_assignee_star_and_unread(
    ed_client: FlaskClient,
    editor: StaffUser,
    session: Session,
    make_staff: Callable[..., StaffUser],
) -> None:
    colleague = make_staff("colleague@example.org", Role.editor)
    labelled, mine, theirs, starred, plain = (_tip(session, minutes_ago=m) for m in (5, 4, 3, 2, 1))
    session.add(TipLabel(submission_id=labelled.id, label="elecciones"))
    session.execute(
        update(TipDetails).where(TipDetails.submission_id == mine.id).values(assignee_id=editor.id)
    )
    session.execute(
        update(TipDetails)
        .where(TipDetails.submission_id == theirs.id)
        .values(assignee_id=colleague.id)
    )
    session.execute(
        update(TipDetails).where(TipDetails.submission_id == starred.id).values(starred=True)
    )
    session.add(TipRead(submission_id=plain.id, staff_id=editor.id, read_at=utcnow()))
    session.commit()
    tips = (labelled, mine, theirs, starred, plain)

    def listed(query: str) -> list[bool]:
        response = ed_client.get(f"/tips?{query}")
        assert response.status_code == 200
        return _listed(response.text, *tips)

    assert listed("") == [True] * 5
    assert listed("label=Elecciones") == [True, False, False, False, False]
    assert listed("assignee=mine") == [False, True, False, False, False]
    assert listed(f"assignee={colleague.id}") == [False, False, True, False, False]
    assert listed("assignee=nobody") == [True, False, False, True, True]
    assert listed("starred=1") == [False, False, False, True, False]
    assert listed("unread=1") == [True, True, True, True, False]
    assert listed("unread=1&assignee=nobody") == [True, False, False, True, False]

    # Filters stay on across the status tabs and the order switch.
    html = ed_client.get("/tips?label=elecciones&starred=1").text
    assert 'href="/tips?status=closed&amp;label=elecciones&amp;starred=1"' in html
    assert 'href="/tips?status=new&amp;order=newest&amp;label=elecciones&amp;starred=1"' in html


def test_bad_filter_values_are_named_and_ignored(ed_client: FlaskClient, session: Session) -> None:
    tip = _tip(session)
    response = ed_client.get("/tips?label=nadie-la-usa&assignee=9999&starred=maybe&unread=quizá")
    assert response.status_code == 200
    html = response.text
    assert "No tip has the label “nadie-la-usa”; the label filter was ignored." in html
    assert "Unknown assignee “9999”; the assignee filter was ignored." in html
    assert "“maybe” is not yes (1) or no (0); the starred filter was ignored." in html
    assert "“quizá” is not yes (1) or no (0); the unread filter was ignored." in html
    assert tip.ref in html


def test_filters_are_kept_across_pages(ed_client: FlaskClient, session: Session) -> None:
    key = tipkeys.current_public_key(session)
    assert key is not None
    start = utcnow() - timedelta(hours=2)
    for n in range(PER_PAGE + 1):
        created = start + timedelta(seconds=n)
        tip = Submission(
            kind=Kind.tip,
            status=Status.new,
            sealed=tipkeys.seal_to(key, {"text": f"tip {n}"}),
            created_at=created,
            updated_at=created,
        )
        session.add_all([tip, TipDetails(submission=tip, tip_key_id=key.id, starred=n % 2 == 0)])
        session.flush()
        session.add(TipLabel(submission_id=tip.id, label="lote"))
    unlabelled = _tip(session)
    first = ed_client.get("/tips?label=lote").text
    assert unlabelled.ref not in first
    match = re.search(r'href="([^"]*after=[^"]*)" rel="next"', first)
    assert match, "no next page"
    following = match.group(1).replace("&amp;", "&")
    assert "label=lote" in following
    second = ed_client.get(following).text
    assert second.count('<th scope="row">') == 1 and unlabelled.ref not in second


def test_unread_after_the_source_writes_again_and_read_after_opening(
    ed_client: FlaskClient, editor: StaffUser, session: Session
) -> None:
    tip = _tip(session, minutes_ago=1)

    def unread() -> bool:
        return "tip-unread-mark" in _row(ed_client.get("/tips").text, tip.ref)

    assert unread()  # never opened
    assert ed_client.get(f"/tips/{tip.id}").status_code == 200
    assert not unread()

    # The source sends a follow-up (the way back bumps the tip's last activity).
    session.execute(
        update(TipDetails)
        .where(TipDetails.submission_id == tip.id)
        .values(last_activity_at=utcnow())
    )
    session.commit()
    assert unread()
    ed_client.get(f"/tips/{tip.id}")
    assert not unread()

    token = token_from(ed_client, "/tips")
    marked = ed_client.post(f"/tips/{tip.id}/unread", data={"csrf_token": token})
    assert marked.status_code == 303 and marked.location == "/tips?status=new"
    listing = ed_client.get("/tips").text
    assert f"Tip {tip.ref} marked as unread." in listing
    assert "tip-unread-mark" in _row(listing, tip.ref)


def test_a_moderator_is_refused_every_triage_route(
    client: FlaskClient, editor: StaffUser, moderator: StaffUser, session: Session
) -> None:
    tip = _tip(session)
    login(client, "mod@example.org")
    token = token_from(client, "/queue")
    url = f"/tips/{tip.id}"
    gets = ["/tips", "/tips?label=x&assignee=mine", url]
    posts = {
        f"{url}/assignee": {"assignee": str(moderator.id)},
        f"{url}/labels": {"label": "x"},
        f"{url}/labels/remove": {"label": "x"},
        f"{url}/star": {"value": "1"},
        f"{url}/keep": {"value": "1"},
        f"{url}/unread": {},
        f"{url}/notes": {"note-body": "x", "note-csrf_token": token},
        f"{url}/status": {"to": "closed", "version": "1"},
        f"{url}/undo": {"event": "1", "version": "1"},
    }
    codes = [client.get(path).status_code for path in gets]
    codes += [
        client.post(path, data={"csrf_token": token, **data}).status_code
        for path, data in posts.items()
    ]
    assert codes == [403] * (len(gets) + len(posts))
    details = _details(session, tip)
    assert (details.assignee_id, details.starred, details.keep) == (None, False, False)
    assert _audit(session, tip) == []


def test_an_editor_without_the_key_is_told_so_and_can_still_triage(
    client: FlaskClient,
    editor: StaffUser,
    session: Session,
    make_staff: Callable[..., StaffUser],
) -> None:
    tip = _tip(session)
    tipkeys_holder = new_client(client.application)
    login(tipkeys_holder, ED, EDITOR_PASSWORD)
    token = token_from(tipkeys_holder, f"/tips/{tip.id}")
    tipkeys_holder.post(f"/tips/{tip.id}/notes", data={"note-csrf_token": token, "note-body": NOTE})

    make_staff("second@example.org", Role.editor)
    login(client, "second@example.org")
    page = client.get(f"/tips/{tip.id}")
    assert page.status_code == 200
    assert NO_KEY in page.text and "(`tipline tips grant`)" in page.text
    assert "Texto de la fuente" not in page.text and NOTE not in page.text
    assert "Not unlocked." in page.text  # the note is listed, not opened
    assert client.get("/tips").status_code == 200

    # The desk's marks need no key: they are not secret.
    token = token_from(client, f"/tips/{tip.id}")
    assert (
        client.post(f"/tips/{tip.id}/star", data={"csrf_token": token, "value": "1"}).status_code
        == 303
    )
    assert _details(session, tip).starred is True
