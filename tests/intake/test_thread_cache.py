"""Threads and counts read through the Redis cache: served from it, dropped by decisions, never
filled with what a decision changed, and answered from the database when Redis is away."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from core import thread_cache
from core.config import Settings
from core.enums import Role, Status
from core.models import Article, StaffUser, Submission
from core.staff import create_staff_user
from core.thread_cache import ThreadCache
from core.transitions import change_status
from intake.thread_reads import Body, cached_counts, cached_thread, forget_article_ids
from tests.intake.helpers import add_article, add_comment

PUBLIC = "https://comentarios.example"


@pytest.fixture(autouse=True)
def cache(settings: Settings) -> Iterator[ThreadCache]:
    """This test's cache (the test Redis), and no article ids remembered from another test."""
    forget_article_ids()
    configured = thread_cache.configure(settings)
    assert configured is not None
    yield configured
    forget_article_ids()


def _read(session: Session, key: str = "la-zafra", **options: object) -> Body:
    arguments: dict[str, object] = {"order": "newest", "cursor": None, "limit": 20}
    arguments.update(options)
    body = cached_thread(session, key, public_url=PUBLIC, **arguments)  # type: ignore[arg-type]
    assert body is not None
    return body


def _bodies(body: Body) -> list[str]:
    return [c["body"] for c in json.loads(body.data)["comments"]]


def _behind_the_cache(session: Session, comment: Submission, text: str) -> None:
    # A raw UPDATE, not through core.transitions: nothing drops the cached thread.
    session.execute(update(Submission).where(Submission.id == comment.id).values(body=text))
    session.commit()


def _moderator(session: Session) -> StaffUser:
    user = create_staff_user(session, "mod@example.org", "correct horse battery", Role.moderator)
    session.commit()
    return user


def _reject(session: Session, comment: Submission, moderator: StaffUser) -> None:
    session.refresh(comment)
    change_status(
        session, comment, Status.rejected, expected_version=comment.version, actor=moderator
    )


def test_a_page_is_compact_utf8_json_with_a_strong_etag(session: Session) -> None:
    article = add_article(session)
    add_comment(session, article, body="¿Qué pasó con la zafra?")
    body = _read(session)
    assert body.etag == f'"{hashlib.sha256(body.data).hexdigest()}"'
    assert "¿Qué pasó con la zafra?".encode() in body.data
    assert b'": ' not in body.data and b", " not in body.data
    assert json.loads(body.data)["count"] == 1
    assert (
        cached_thread(
            session, "no-such-article", order="newest", cursor=None, limit=20, public_url=PUBLIC
        )
        is None
    )


def test_a_second_read_comes_from_redis_until_a_decision_drops_it(session: Session) -> None:
    article = add_article(session)
    first = add_comment(session, article, body="Primero")
    second = add_comment(session, article, body="Segundo")
    moderator = _moderator(session)
    before = _read(session)

    _behind_the_cache(session, first, "Cambiado a escondidas")
    again = _read(session)
    assert again == before  # the same bytes and ETag: served from the cache

    _reject(session, second, moderator)
    after = _read(session)
    assert after.etag != before.etag
    assert _bodies(after) == ["Cambiado a escondidas"]
    assert json.loads(after.data)["count"] == 1


def test_each_order_cursor_and_limit_is_its_own_entry(session: Session) -> None:
    article = add_article(session)
    for text in ("uno", "dos", "tres"):
        add_comment(session, article, body=text)
    newest = _read(session, limit=2)
    oldest = _read(session, order="oldest", limit=2)
    assert _bodies(newest) != _bodies(oldest)
    cursor = json.loads(newest.data)["next_cursor"]
    rest = _read(session, limit=2, cursor=cursor)
    assert len(_bodies(rest)) == 1
    assert _read(session, limit=2, cursor=cursor) == rest


def test_a_fill_that_raced_a_decision_is_not_stored(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch, cache: ThreadCache
) -> None:
    article = add_article(session)
    kept = add_comment(session, article, body="Se queda")
    removed = add_comment(session, article, body="Se va")
    moderator = _moderator(session)

    class RacingCache(ThreadCache):
        """A cache whose first fill comes after a decision that read has not seen."""

        decide: Callable[[], None] | None = None

        def put(self, article_id: int, field: str, value: bytes, generation: bytes | None) -> bool:
            if self.decide is not None:
                decide, self.decide = self.decide, None
                decide()
            return super().put(article_id, field, value, generation)

    racing = RacingCache(settings.cache_url, settings.ratelimit_prefix, 60)

    def decision() -> None:
        session.commit()  # the reader's transaction is over; a moderator decides now
        _reject(session, removed, moderator)

    racing.decide = decision
    monkeypatch.setattr(thread_cache, "_current", racing)
    raced = _read(session)
    assert sorted(_bodies(raced)) == ["Se queda", "Se va"]  # read before the decision
    assert not racing.client.exists(racing.key(article.id)) or not any(
        field.startswith(b"page|") for field in racing.client.hkeys(racing.key(article.id))
    )
    # The next reader gets what the decision left, not the raced read.
    monkeypatch.setattr(thread_cache, "_current", cache)
    assert _bodies(_read(session)) == [kept.body]


def test_without_redis_the_database_answers(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    article = add_article(session)
    comment = add_comment(session, article, body="Antes")
    # Nothing listens on port 1: every call to this cache fails.
    down = ThreadCache("redis://127.0.0.1:1/0", settings.ratelimit_prefix, 60)
    monkeypatch.setattr(thread_cache, "_current", down)
    assert _bodies(_read(session)) == ["Antes"]
    _behind_the_cache(session, comment, "Después")
    assert _bodies(_read(session)) == ["Después"]
    assert cached_counts(session, ["la-zafra", "otro"]) == {"la-zafra": 1, "otro": 0}


def test_counts_come_from_the_cache_until_a_decision(session: Session) -> None:
    one = add_article(session)
    two = add_article(session, slug="la-guagua")
    add_comment(session, one)
    hidden = add_comment(session, one)
    add_comment(session, two, status=Status.pending)
    moderator = _moderator(session)

    assert cached_counts(session, ["la-zafra", "la-guagua", "nada", "la-zafra"]) == {
        "la-zafra": 2,
        "la-guagua": 0,
        "nada": 0,
    }
    # Behind the cache: the counts are the cached ones.
    session.execute(
        update(Submission).where(Submission.article_id == two.id).values(status=Status.published)
    )
    session.commit()
    assert cached_counts(session, ["la-zafra", "la-guagua"]) == {"la-zafra": 2, "la-guagua": 0}
    _reject(session, hidden, moderator)
    assert cached_counts(session, ["la-zafra"]) == {"la-zafra": 1}


def test_a_thread_read_also_caches_the_count(session: Session, cache: ThreadCache) -> None:
    article = add_article(session)
    add_comment(session, article)
    _read(session)
    assert cache.client.hget(cache.key(article.id), "count") == b"1"
    assert isinstance(session.get(Article, article.id), Article)
