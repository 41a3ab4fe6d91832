"""Published threads cached in Redis, dropped by every change that touches them.

Each article has one Redis hash, `<prefix>:thread:<article id>`, whose fields are what readers
fetch of it (a page of its thread in one order, its count). Any status change of one of its
comments, a feature, a change of the article's mode or title drops the whole hash after the
change commits (`touch` records the article in the session; the commit hook deletes).

A reader who misses builds the page from the database and puts it back only if nobody dropped
the hash in between: the hash carries a generation token, set on the first miss, which the
fill must still find (one Lua script, so the check and the write are one step). A fill that
raced a decision is thrown away instead of caching what the decision just changed.

Redis is a cache here, never the truth: when it cannot be reached, readers are served from the
database and nothing fails. Every entry also expires after settings.thread_cache_seconds.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.config import Settings

log = logging.getLogger(__name__)

_TOUCHED = "tipline.touched_articles"
GENERATION = "_gen"
# After a Redis error, skip the cache this long before trying it again.
RETRY_SECONDS = 5.0

# KEYS[1] the hash; ARGV: field, a new generation token, ttl. Returns {value or false, gen}.
_GET = """
local got = redis.call('HMGET', KEYS[1], ARGV[1], '_gen')
if got[1] then return {got[1], got[2]} end
if got[2] then return {false, got[2]} end
redis.call('HSET', KEYS[1], '_gen', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {false, ARGV[2]}
"""
# KEYS[1] the hash; ARGV: generation, field, value, ttl. 1 if stored.
_FILL = """
if redis.call('HGET', KEYS[1], '_gen') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""


@dataclass(frozen=True)
class Lookup:
    """What the cache holds for one field: the value (None on a miss) and the generation."""

    value: bytes | None
    generation: bytes | None


class ThreadCache:
    """The cache of published threads in one Redis, under one prefix."""

    def __init__(self, url: str, prefix: str, ttl_seconds: int) -> None:
        # A Redis that hangs must not hang readers: fail fast, then read the database.
        self.client = redis.Redis.from_url(
            redis_py_url(url), socket_connect_timeout=1, socket_timeout=1
        )
        self.prefix = f"{prefix}:thread:"
        self.ttl = max(1, ttl_seconds)
        self._get = self.client.register_script(_GET)
        self._fill = self.client.register_script(_FILL)
        self._down_until = 0.0

    def key(self, article_id: int) -> str:
        """The Redis key of an article's hash."""
        return f"{self.prefix}{article_id}"

    def get(self, article_id: int, field: str) -> Lookup:
        """The cached `field` of an article's thread, and the generation a fill must name."""
        if not self._up():
            return Lookup(None, None)
        try:
            value, generation = self._get(
                keys=[self.key(article_id)], args=[field, secrets.token_hex(8), self.ttl]
            )
        except redis.RedisError as exc:
            self._failed(exc)
            return Lookup(None, None)
        return Lookup(value or None, generation)

    def put(self, article_id: int, field: str, value: bytes, generation: bytes | None) -> bool:
        """Store `field` if the hash is still at `generation`; whether it was stored."""
        if generation is None or not self._up():
            return False
        try:
            stored = self._fill(
                keys=[self.key(article_id)], args=[generation, field, value, self.ttl]
            )
        except redis.RedisError as exc:
            self._failed(exc)
            return False
        return bool(stored)

    def get_many(self, article_ids: Iterable[int], field: str) -> dict[int, bytes]:
        """`field` of several articles in one round trip: only those cached."""
        ids = list(article_ids)
        if not ids or not self._up():
            return {}
        try:
            pipe = self.client.pipeline(transaction=False)
            for article_id in ids:
                pipe.hget(self.key(article_id), field)
            values = pipe.execute()
        except redis.RedisError as exc:
            self._failed(exc)
            return {}
        return {a: v for a, v in zip(ids, values, strict=True) if v is not None}

    def invalidate(self, article_ids: Iterable[int]) -> None:
        """Drop the cached threads of these articles."""
        keys = [self.key(a) for a in set(article_ids)]
        if not keys:
            return
        try:
            self.client.delete(*keys)
        except redis.RedisError as exc:
            # Not skipped while "down": a delete that fails leaves an entry stale, so it is
            # always tried. Entries expire after thread_cache_seconds in any case.
            log.warning("thread cache: could not drop %d threads: %s", len(keys), exc)

    def _up(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: Exception) -> None:
        log.warning("thread cache unreachable, reading the database: %s", exc)
        self._down_until = time.monotonic() + RETRY_SECONDS


def redis_py_url(url: str) -> str:
    """`url` as redis-py reads it: the `limits` spelling redis+unix:// becomes unix://."""
    if url.startswith("redis+unix://"):
        return "unix://" + url.removeprefix("redis+unix://")
    return url


_caches: dict[tuple[str, str, int], ThreadCache] = {}
_current: ThreadCache | None = None


def configure(settings: Settings) -> ThreadCache | None:
    """Open this process's cache from settings (None without cache_url); every app calls it."""
    global _current
    if not settings.cache_url:
        _current = None
        return None
    key = (settings.cache_url, settings.ratelimit_prefix, settings.thread_cache_seconds)
    cache = _caches.get(key)
    if cache is None:
        cache = _caches[key] = ThreadCache(*key)
    _current = cache
    return cache


def current() -> ThreadCache | None:
    """The cache the last app built in this process configured, if any."""
    return _current


def touch(session: Session, *article_ids: int | None) -> None:
    """Drop these articles' cached threads once `session` commits (nothing if it rolls back)."""
    touched: set[int] = session.info.setdefault(_TOUCHED, set())
    touched.update(a for a in article_ids if a is not None)


@event.listens_for(Session, "after_commit")
def _drop_after_commit(session: Session) -> None:
    touched: set[int] | None = session.info.pop(_TOUCHED, None)
    if touched and _current is not None:
        _current.invalidate(touched)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_TOUCHED, None)
