"""Helpers for the public site's tests: rows to arrange, forms to fill in like a browser."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core.enums import Kind, ModerationMode, Status
from core.models import Article, Submission
from tests.support import csrf_token

COMMENT = "Muy buen reportaje sobre la zafra, gracias."
TIP = "El director de la empresa desvía el combustible de las guaguas a su finca."


def add_article(
    session: Session,
    slug: str = "la-zafra",
    mode: ModerationMode = ModerationMode.post,
    title: str = "La zafra que no fue",
    body: str = "Primer párrafo.\n\nSegundo párrafo.",
) -> Article:
    """A committed article."""
    article = Article(slug=slug, title=title, body=body, mode=mode)
    session.add(article)
    session.commit()
    return article


def add_comment(
    session: Session,
    article: Article,
    body: str = COMMENT,
    status: Status = Status.published,
    name: str = "Ana",
    created_at: datetime | None = None,
) -> Submission:
    """A committed comment in `status` (arranged directly, as if the checks had run)."""
    submission = Submission(
        kind=Kind.comment, status=status, article_id=article.id, author_name=name, body=body
    )
    if created_at is not None:
        submission.created_at = created_at
    session.add(submission)
    session.commit()
    return submission


def token(client: FlaskClient, path: str = "/tip") -> str:
    """The CSRF token a browser would get with the form at `path`."""
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return csrf_token(response.get_data(as_text=True))


def post_comment(
    client: FlaskClient,
    slug: str = "la-zafra",
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> TestResponse:
    """Fill in and send the comment form of article `slug` the way a browser does."""
    data = {"csrf_token": token(client, f"/articles/{slug}"), "author_name": "Ana", "email": ""}
    data["body"] = COMMENT
    data.update(fields)
    return client.post(f"/articles/{slug}", data=data, headers=headers or {})


def post_tip(
    client: FlaskClient, headers: dict[str, str] | None = None, **fields: Any
) -> TestResponse:
    """Fill in and send the tip form the way a browser does."""
    data = {"csrf_token": token(client), "text": TIP, "contact": "", "name": ""}
    data.update(fields)
    return client.post("/tip", data=data, headers=headers or {})


def submissions(session: Session) -> list[Submission]:
    """Every stored submission, as committed right now."""
    session.expire_all()
    rows = list(session.scalars(select(Submission).order_by(Submission.id)))
    # End the read transaction: on SQLite it holds the write lock (core.db begins every
    # transaction IMMEDIATE), which would keep the worker from saving its verdict.
    session.commit()
    return rows


def html(response: TestResponse) -> str:
    """The body of a response as text."""
    return response.get_data(as_text=True)
