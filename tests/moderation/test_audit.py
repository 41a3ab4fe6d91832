"""The audit log: admins only, filters, keyset pages, a streamed CSV, and no way to change a row."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from core.db import db
from core.enums import Role, Status
from core.models import AuditEvent, StaffUser, Submission
from core.transitions import SYSTEM
from moderation.audit import AuditFilter, audit_page, safe_cell
from moderation.bans import CLI_ACTOR
from tests.moderation.conftest import login, new_client

DAY = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def admin(make_staff: Callable[..., StaffUser]) -> StaffUser:
    """An admin account."""
    return make_staff("admin@example.org", Role.admin)


@pytest.fixture
def add_event(session: Session) -> Callable[..., AuditEvent]:
    """Write an audit row (committed)."""

    def add(
        at: datetime,
        action: str = "status",
        *,
        actor: StaffUser | None = None,
        label: str = SYSTEM,
        submission: Submission | None = None,
        reason: str = "",
    ) -> AuditEvent:
        event = AuditEvent(
            at=at,
            action=action,
            actor_id=actor.id if actor else None,
            actor_label=actor.email if actor else label,
            submission_id=submission.id if submission else None,
            from_status="pending" if submission else None,
            to_status="published" if submission else None,
            reason=reason,
        )
        session.add(event)
        session.commit()
        return event

    return add


def _csv(client: FlaskClient, query: str = "") -> list[dict[str, str]]:
    response = client.get("/audit.csv" + query)
    assert response.status_code == 200, response.status_code
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def _ids(rows: list[dict[str, str]]) -> list[int]:
    return [int(row["id"]) for row in rows]


def test_only_admins_may_read_the_log(
    moderation_app: Flask,
    client: FlaskClient,
    make_staff: Callable[..., StaffUser],
    admin: StaffUser,
) -> None:
    for path in ("/audit", "/audit.csv"):
        response = client.get(path)
        assert response.status_code == 303 and response.location.startswith("/login"), path
    for role in (Role.moderator, Role.editor):
        make_staff(f"{role.value}@example.org", role)
        other = new_client(moderation_app)
        login(other, f"{role.value}@example.org")
        assert 'href="/audit"' not in other.get("/queue").text
        for path in ("/audit", "/audit.csv"):
            assert other.get(path).status_code == 403, (role, path)
    login(client, "admin@example.org")
    page = client.get("/audit")
    assert page.status_code == 200
    assert 'href="/audit"' in page.text


def test_no_route_can_change_a_row(moderation_app: Flask) -> None:
    rules = [r for r in moderation_app.url_map.iter_rules() if r.rule.startswith("/audit")]
    assert {r.rule for r in rules} == {"/audit", "/audit.csv"}
    for rule in rules:
        assert (rule.methods or set()) <= {"GET", "HEAD", "OPTIONS"}, rule


def test_filters_by_person_action_dates_and_reference(
    client: FlaskClient,
    admin: StaffUser,
    moderator: StaffUser,
    make_comment: Callable[..., Submission],
    add_event: Callable[..., AuditEvent],
    session: Session,
) -> None:
    comment = make_comment()
    checks = add_event(DAY - timedelta(days=2), "checks", submission=comment)
    decided = add_event(DAY - timedelta(days=1), actor=moderator, submission=comment)
    listed = add_event(DAY, "list_add", label=CLI_ACTOR, reason="banned_words: casino")
    late = add_event(DAY + timedelta(hours=11, minutes=59), "ban", actor=admin)
    add_event(DAY + timedelta(days=1), "unban", actor=admin)
    login(client, "admin@example.org")

    assert _ids(_csv(client, f"?person={moderator.id}")) == [decided.id]
    assert _ids(_csv(client, f"?person={SYSTEM}")) == [checks.id]
    assert _ids(_csv(client, f"?person={CLI_ACTOR}")) == [listed.id]
    assert _ids(_csv(client, "?action=checks")) == [checks.id]
    # Both ends inclusive, whole days in UTC.
    assert _ids(_csv(client, "?start=2026-03-09&end=2026-03-10")) == [
        late.id,
        listed.id,
        decided.id,
    ]
    assert _ids(_csv(client, f"?ref={comment.ref.lower()}")) == [decided.id, checks.id]
    assert _csv(client, "?ref=NOSUCHREF") == []

    page = client.get(f"/audit?person={admin.id}&action=ban").text
    assert page.count("<tr>") == 2  # the header and the one ban
    assert "sender banned" in page
    # The person and action selects offer who and what the log holds.
    assert f'<option value="{moderator.id}">mod@example.org</option>' in page
    assert '<option value="cli">command line</option>' in page
    assert '<option value="login">logged in</option>' in page
    # A status change links to the comment it changed.
    page = client.get("/audit?action=status").text
    assert f'href="/submissions/{comment.id}"' in page
    assert "Pending → Published" in page


def test_bad_dates_are_a_form_error_not_a_crash(client: FlaskClient, admin: StaffUser) -> None:
    login(client, "admin@example.org")
    page = client.get("/audit?start=2026-02-30&end=yesterday")
    assert page.status_code == 200
    assert page.text.count("Enter a date as YYYY-MM-DD.") == 2
    assert "<table" not in page.text
    backwards = client.get("/audit?start=2026-03-10&end=2026-03-01")
    assert "The end date is before the start date." in backwards.text
    assert client.get("/audit.csv?start=03/10/2026").status_code == 400


def test_pages_follow_the_keyset_without_gaps_or_repeats(
    session: Session, add_event: Callable[..., AuditEvent]
) -> None:
    # Ties on `at` are ordered by id, so a page may end in the middle of them.
    made = [add_event(DAY - timedelta(minutes=i // 3)) for i in range(10)]
    expected = [e.id for e in sorted(made, key=lambda e: (e.at, e.id), reverse=True)]
    seen: list[int] = []
    page = audit_page(session, AuditFilter(), per_page=4)
    seen += [row.event.id for row in page.rows]
    while page.next_cursor is not None:
        page = audit_page(session, AuditFilter(), after=page.next_cursor, per_page=4)
        seen += [row.event.id for row in page.rows]
    assert seen == expected


def test_the_page_shows_a_hundred_rows_and_links_the_next(
    client: FlaskClient, admin: StaffUser, session: Session
) -> None:
    session.add_all(
        AuditEvent(at=DAY - timedelta(seconds=i), actor_label=SYSTEM, action="checks")
        for i in range(101)
    )
    session.commit()
    login(client, "admin@example.org")
    first = client.get("/audit?action=checks").text
    assert first.count("<tr>") == 101
    found = re.search(r'href="([^"]+)" rel="next"', first)
    assert found
    second = client.get(found.group(1).replace("&amp;", "&")).text
    assert second.count("<tr>") == 2
    assert 'rel="next"' not in second
    assert "First page" in second


def test_the_csv_is_an_attachment_in_utf8_with_formulas_defused(
    moderation_app: Flask,
    client: FlaskClient,
    admin: StaffUser,
    add_event: Callable[..., AuditEvent],
    make_comment: Callable[..., Submission],
    session: Session,
) -> None:
    comment = make_comment(status=Status.pending)
    add_event(DAY, "ban", actor=admin, submission=comment, reason='=HYPERLINK("x") — señal')
    add_event(DAY, "login_failed", label="@evil")
    login(client, "admin@example.org")
    response = client.get("/audit.csv?start=2026-03-10&end=2026-03-10")
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-')
    assert response.headers["Cache-Control"] == "no-store"
    response.close()  # ends the stream, and with it the request's database session
    rows = _csv(client, "?start=2026-03-10&end=2026-03-10")
    # The stream's database session was closed when it ended: its connection is back in the pool.
    pool = db.engine_for(moderation_app).pool
    assert isinstance(pool, QueuePool) and pool.checkedout() == 0
    assert list(rows[0]) == [
        "id",
        "time_utc",
        "actor",
        "action",
        "submission_kind",
        "submission_ref",
        "from_status",
        "to_status",
        "reason",
    ]
    failed, ban = rows
    assert failed["actor"] == "'@evil"
    assert ban["reason"] == '\'=HYPERLINK("x") — señal'
    assert ban["submission_ref"] == comment.ref
    assert ban["submission_kind"] == "comment"
    assert ban["time_utc"] == "2026-03-10T12:00:00+00:00"
    assert safe_cell("-1+1") == "'-1+1" and safe_cell("ok") == "ok" and safe_cell(None) == ""
