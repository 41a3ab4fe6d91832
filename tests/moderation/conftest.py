"""Helpers for the staff site's tests: staff accounts, logging in through the form, comments."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core.db import utcnow
from core.enums import Kind, Role, Status, Verdict
from core.models import Article, CheckResult, StaffUser, Submission
from core.staff import create_staff_user
from tests.support import csrf_token

PASSWORD = "correct horse battery"


def new_client(app: Flask) -> FlaskClient:
    """A browser-like client that asks for English pages."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def login(
    client: FlaskClient, email: str, password: str = PASSWORD, next_: str = ""
) -> TestResponse:
    """Log in through the real form, with the CSRF token from the page."""
    url = "/login" + (f"?next={next_}" if next_ else "")
    token = csrf_token(client.get(url).text)
    return client.post(url, data={"csrf_token": token, "email": email, "password": password})


def tab_count(html: str, status: str) -> int:
    """The count a page shows on the tab of `status`."""
    match = re.search(rf'status={status}"[^>]*>[^<]*<span class="count">(\d+)</span>', html)
    assert match, f"no count for {status}"
    return int(match.group(1))


def token_from(client: FlaskClient, path: str) -> str:
    """The CSRF token of a page, for posting a form from it."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return csrf_token(page.text)


@pytest.fixture
def client(moderation_app: Flask) -> FlaskClient:
    """The staff site's client, in English."""
    return new_client(moderation_app)


@pytest.fixture
def make_staff(session: Session) -> Callable[..., StaffUser]:
    """Create a staff account (committed)."""

    def make(email: str, role: Role = Role.moderator) -> StaffUser:
        user = create_staff_user(session, email, PASSWORD, role)
        session.commit()
        return user

    return make


@pytest.fixture
def moderator(make_staff: Callable[..., StaffUser]) -> StaffUser:
    """A moderator account."""
    return make_staff("mod@example.org", Role.moderator)


@pytest.fixture
def article(session: Session) -> Article:
    """An article to comment on."""
    article = Article(slug="apagones", title="Apagones en La Habana")
    session.add(article)
    session.commit()
    return article


@pytest.fixture
def make_comment(session: Session, article: Article) -> Callable[..., Submission]:
    """Create a comment in a given status, received `minutes_ago`, optionally with a check."""

    def make(
        body: str = "Un comentario",
        status: Status = Status.pending,
        *,
        name: str = "Ana",
        minutes_ago: float = 0,
        at: datetime | None = None,
        check: tuple[Verdict, str, dict[str, object]] | None = None,
    ) -> Submission:
        created = at or utcnow() - timedelta(minutes=minutes_ago)
        submission = Submission(
            kind=Kind.comment,
            status=status,
            article_id=article.id,
            author_name=name,
            body=body,
            created_at=created,
            updated_at=created,
        )
        if check is not None:
            verdict, reason, params = check
            submission.check_results.append(
                CheckResult(
                    name="links",
                    version="1",
                    verdict=verdict,
                    score=0.5,
                    reason=reason,
                    reason_params=params,
                )
            )
        session.add(submission)
        session.commit()
        return submission

    return make
