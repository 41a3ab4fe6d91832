"""Helpers for the JSON API's tests: allowed origins, a thread with replies, JSON requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core import site_settings
from core.db import utcnow
from core.enums import Kind, ModerationMode, Status
from core.models import Article, Submission
from intake.thread_reads import forget_article_ids
from tests.intake.helpers import add_article, add_comment

OUTLET = "https://www.outlet.example"
OTHER = "https://evil.example"
ARTICLE_URL = f"{OUTLET}/2026/11/la-zafra"


def allow(session: Session, *origins: str) -> None:
    """Let `origins` embed threads (the admins' list in the staff site)."""
    site_settings.save(session, None, embed_origins="\n".join(origins))
    # Ids of articles remembered by an earlier test name rows that were deleted since.
    forget_article_ids()


def add_reply(
    session: Session,
    parent: Submission,
    body: str = "Estoy de acuerdo.",
    status: Status = Status.published,
) -> Submission:
    """A committed reply to `parent` in `status`."""
    reply = Submission(
        kind=Kind.comment,
        status=status,
        article_id=parent.article_id,
        parent_id=parent.id,
        author_name="Luis",
        body=body,
    )
    session.add(reply)
    session.commit()
    return reply


@dataclass
class Thread:
    """An article with published comments, a featured one, replies and a removed reply."""

    article: Article
    first: Submission
    second: Submission
    featured: Submission
    reply: Submission
    removed_reply: Submission


def add_thread(session: Session, mode: ModerationMode = ModerationMode.post) -> Thread:
    """An article "la-zafra" whose thread has a bit of everything."""
    article = add_article(session, mode=mode)
    article.url = ARTICLE_URL
    session.commit()
    first = add_comment(session, article, "Primer comentario, con https://example.org/enlace.")
    second = add_comment(session, article, "Segundo comentario.", name="Marta")
    featured = add_comment(session, article, "Un comentario destacado.", name="Eva")
    featured.featured_at = utcnow()
    session.commit()
    reply = add_reply(session, first)
    removed = add_reply(session, first, "Algo que se rechazó.", status=Status.rejected)
    add_comment(session, article, "Publicidad de recargas.", status=Status.spam)
    return Thread(article, first, second, featured, reply, removed)


def post_json(
    client: FlaskClient,
    path: str,
    body: Any,
    *,
    origin: str | None = OUTLET,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> TestResponse:
    """POST `body` as JSON the way the embed (an Origin) or the CMS (a token) does."""
    sent = dict(headers or {})
    if origin:
        sent["Origin"] = origin
    if token:
        sent["Authorization"] = f"Bearer {token}"
    return client.post(f"/api/v1{path}", json=body, headers=sent)


def get_json(
    client: FlaskClient, path: str, *, origin: str | None = OUTLET, **headers: str
) -> TestResponse:
    """GET an API path as an embedding page would."""
    sent = dict(headers)
    if origin:
        sent["Origin"] = origin
    return client.get(f"/api/v1{path}", headers=sent)
