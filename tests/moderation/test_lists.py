"""The Lists page: admins add and remove terms, everyone else is refused; the worker uses them."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Settings
from core.enums import ListName, Role, Status
from core.models import AuditEvent, CheckResult, ListEntry, StaffUser
from tests.moderation.conftest import login, token_from
from tests.worker.conftest import add_comment, add_tip
from worker.checking import check_submission
from worker.environment import forget


@pytest.fixture
def admin(make_staff: Callable[..., StaffUser]) -> StaffUser:
    """An admin account."""
    return make_staff("admin@example.org", Role.admin)


def _add(client: FlaskClient, name: ListName, terms: str) -> tuple[int, str]:
    token = token_from(client, "/lists")
    response = client.post(
        f"/lists/{name.value}/add",
        data={f"{name.value}-csrf_token": token, f"{name.value}-terms": terms},
    )
    if response.status_code == 303:
        page = client.get(response.location)
        return 303, page.text
    return response.status_code, response.text


def _entries(session: Session, name: ListName) -> list[str]:
    values = session.scalars(
        select(ListEntry.value).where(ListEntry.list == name).order_by(ListEntry.id)
    ).all()
    session.commit()
    return list(values)


def _audit(session: Session) -> list[tuple[str, str, str]]:
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.actor_label, AuditEvent.reason)
        .where(AuditEvent.action.like("list_%"))
        .order_by(AuditEvent.id)
    ).all()
    session.commit()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _errors(page: str) -> list[str]:
    found = re.findall(r'<ul class="field-error"[^>]*>(.*?)</ul>', page, re.S)
    return [html.unescape(e) for block in found for e in re.findall(r"<li>(.*?)</li>", block)]


@pytest.mark.parametrize("role", [Role.moderator, Role.editor])
def test_only_admins_see_the_lists(
    client: FlaskClient, make_staff: Callable[..., StaffUser], role: Role
) -> None:
    make_staff("staff@example.org", role)
    login(client, "staff@example.org")
    assert client.get("/lists").status_code == 403
    token = token_from(client, "/queue?status=pending")
    for url in ("/lists/banned_words/add", "/lists/entries/1/remove", "/lists/try"):
        response = client.post(
            url, data={"csrf_token": token, "banned_words-csrf_token": token, "text": "x"}
        )
        assert response.status_code == 403, url
    # No link to a page they cannot open.
    assert 'href="/lists"' not in client.get("/queue?status=pending").text


def test_admin_adds_several_terms_and_removes_one_with_audit_rows(
    client: FlaskClient, admin: StaffUser, session: Session
) -> None:
    login(client, "admin@example.org")
    response = client.get("/lists")
    assert response.status_code == 200
    assert 'href="/lists"' in response.text and 'aria-current="page"' in response.text
    # The built-in entries are shown, not managed.
    assert all(value in response.text for value in ("viagra", "bit.ly", "bbc.com"))

    code, page = _add(client, ListName.suspect_words, "Recargas\n\n  préstamo   rápido \n")
    assert code == 303
    assert "Added to Suspect words: Recargas, préstamo rápido." in html.unescape(page)
    assert _entries(session, ListName.suspect_words) == ["Recargas", "préstamo rápido"]
    assert "admin@example.org" in page

    code, page = _add(client, ListName.blocked_domains, "https://www.Promo-Cuba.xyz/oferta")
    assert code == 303
    assert _entries(session, ListName.blocked_domains) == ["promo-cuba.xyz"]

    entry = session.scalars(select(ListEntry).where(ListEntry.value == "Recargas")).one()
    session.commit()
    token = token_from(client, "/lists")
    response = client.post(f"/lists/entries/{entry.id}/remove", data={"csrf_token": token})
    assert response.status_code == 303
    assert "Removed from Suspect words: Recargas." in client.get(response.location).text
    assert _entries(session, ListName.suspect_words) == ["préstamo rápido"]
    # Removing it again (another tab) says so rather than failing.
    again = client.post(f"/lists/entries/{entry.id}/remove", data={"csrf_token": token})
    assert "already been removed" in client.get(again.location).text

    assert _audit(session) == [
        ("list_add", "admin@example.org", "suspect_words: Recargas"),
        ("list_add", "admin@example.org", "suspect_words: préstamo rápido"),
        ("list_add", "admin@example.org", "blocked_domains: promo-cuba.xyz"),
        ("list_remove", "admin@example.org", "suspect_words: Recargas"),
    ]


@pytest.mark.parametrize(
    ("name", "terms", "errors"),
    [
        (ListName.banned_words, "  \n ", ["Enter at least one term, one per line."]),
        (
            ListName.banned_words,
            "fine\n" + "a" * 201,
            [f"“{'a' * 59}…” is longer than 200 characters."],
        ),
        (
            ListName.banned_words,
            "VIAGRA\nfine\n¡¡!!",
            [
                "“VIAGRA” is already on the list: it is built in.",
                "“¡¡!!” has no letters or digits, so it would never match.",
            ],
        ),
        (
            ListName.blocked_domains,
            "not a domain\nexample\nfine.example",
            [
                "“not a domain” is not a domain name (for example: example.com).",
                "“example” is not a domain name (for example: example.com).",
            ],
        ),
        (
            ListName.allowed_domains,
            "www.bbc.com\nfine.example",
            ["“bbc.com” is already on the list: it is built in."],
        ),
    ],
)
def test_refused_terms_are_explained_and_nothing_is_added(
    client: FlaskClient,
    admin: StaffUser,
    session: Session,
    name: ListName,
    terms: str,
    errors: list[str],
) -> None:
    login(client, "admin@example.org")
    # Some lines are fine: all or nothing.
    code, page = _add(client, name, terms)
    assert code == 400
    assert _errors(page) == errors
    assert 'aria-invalid="true"' in page
    assert _entries(session, name) == []
    assert _audit(session) == []


def test_a_duplicate_is_refused_whatever_its_capitals_or_accents(
    client: FlaskClient, admin: StaffUser, session: Session
) -> None:
    login(client, "admin@example.org")
    assert _add(client, ListName.suspect_words, "préstamo rápido")[0] == 303
    code, page = _add(client, ListName.suspect_words, "PRESTAMO  Rapido")
    assert code == 400
    assert _errors(page) == ["“PRESTAMO Rapido” is already on the list."]
    # The same value twice in one form is added once.
    assert _add(client, ListName.suspect_words, "crypto\nCrypto")[0] == 303
    assert _entries(session, ListName.suspect_words) == ["préstamo rápido", "crypto"]


def test_the_try_box_shows_the_normalised_text_and_what_matches(
    client: FlaskClient, admin: StaffUser, session: Session
) -> None:
    login(client, "admin@example.org")
    _add(client, ListName.suspect_words, "recargas")
    token = token_from(client, "/lists")
    text = "R 3 C A R G A S y V1AGRA en bit.ly/x y https://www.bbc.com/mundo"
    response = client.post("/lists/try", data={"csrf_token": token, "text": text})
    assert response.status_code == 200
    page = html.unescape(response.text)
    assert "r 3 c a r g a s y v1agra" in page  # as compared
    assert "r3cargasy viagra" not in page and "recargasy viagra" in page  # unmasked
    assert "banned word: viagra" in page
    assert "bit.ly: URL shortener" in page
    assert "www.bbc.com: allowed (bbc.com), not counted" in page
    # Nothing was saved and nothing was audited.
    assert _audit(session) == [("list_add", "admin@example.org", "suspect_words: recargas")]


@pytest.mark.parametrize("kind", ["comment", "tip"])
def test_the_worker_uses_a_word_an_admin_just_added(
    client: FlaskClient, admin: StaffUser, session: Session, settings: Settings, kind: str
) -> None:
    login(client, "admin@example.org")
    body = "Oferta: r e c a r g a s dobles a Cuba, escríbenos hoy mismo por favor."
    submission_id = (
        add_comment(session, body=body) if kind == "comment" else add_tip(session, settings, body)
    )
    assert _add(client, ListName.banned_words, "Recargas")[0] == 303
    forget()  # this process's worker cache, which would otherwise keep the lists a few seconds

    # The rule-based checks only: what is under test is the list, not the other checks.
    rules = settings.with_overrides(checks=("length", "links", "words", "repetition"))
    assert check_submission(session, submission_id, rules) is Status.spam
    words = session.scalars(
        select(CheckResult).where(
            CheckResult.submission_id == submission_id, CheckResult.name == "words"
        )
    ).one()
    session.commit()
    assert words.reason % words.reason_params == "banned word: Recargas"
