"""Reads of published threads for the JSON API: through the Redis cache, else the database.

A page is cached as the bytes the API sends, with their ETag, in the article's hash of
core.thread_cache. A miss takes the hash's generation first, then reads the database in a fresh
transaction, then stores the page only if no decision dropped the hash in between: a page is
never cached with what a decision changed after it was read.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import thread_cache, threads
from core.models import Article

# Article keys whose ids this process remembers: ids never change, so there is nothing to drop
# but the oldest when full.
ARTICLE_IDS_MAX = 10_000
COUNT_FIELD = "count"
_ETAG_SEPARATOR = b"\n"


@dataclass(frozen=True)
class Body:
    """A response body as sent, and its strong ETag (quoted)."""

    data: bytes
    etag: str


_article_ids: OrderedDict[str, int] = OrderedDict()
_lock = threading.Lock()


def article_id_for(session: Session, key: str) -> int | None:
    """The id of the article at `key`, remembered per process; None if there is none."""
    with _lock:
        found = _article_ids.get(key)
        if found is not None:
            _article_ids.move_to_end(key)
            return found
    found = session.scalar(select(Article.id).where(Article.slug == key))
    if found is not None:
        _remember(key, found)
    return found


def forget_article_ids() -> None:
    """Forget every remembered key (tests empty the tables between them)."""
    with _lock:
        _article_ids.clear()


def cached_thread(
    session: Session,
    key: str,
    *,
    order: str,
    cursor: str | None,
    limit: int,
    public_url: str,
) -> Body | None:
    """A page of the article's thread (core.threads.thread_page) as JSON bytes; None if unknown.

    BadCursor and ValueError as thread_page raises them, before the cache is asked.
    """
    if order not in threads.ORDERS:
        raise ValueError(f"unknown order {order!r}")
    if cursor:
        threads.check_cursor(cursor)
    article_id = article_id_for(session, key)
    if article_id is None:
        return None
    cache = thread_cache.current()
    # The key is part of the field: a key that came to name another article never reads the
    # page cached for the one before.
    field = f"page|{key}|{order}|{limit}|{cursor or ''}|{public_url}"
    generation = None
    if cache is not None:
        found = cache.get(article_id, field)
        if found.value is not None:
            etag, _, data = found.value.partition(_ETAG_SEPARATOR)
            return Body(data, etag.decode("ascii"))
        generation = found.generation
    article = _fresh_article(session, article_id, key)
    if article is None:
        return None
    if article.id != article_id:
        generation = None  # taken for the article the key named before: store nothing
    page = threads.thread_page(
        session, article, order=order, cursor=cursor, limit=limit, public_url=public_url
    )
    body = encode(page)
    if cache is not None and generation is not None:
        stored = body.etag.encode("ascii") + _ETAG_SEPARATOR + body.data
        cache.put(article_id, field, stored, generation)
        cache.put(article_id, COUNT_FIELD, str(page["count"]).encode("ascii"), generation)
    return body


def cached_counts(session: Session, keys: Iterable[str]) -> dict[str, int]:
    """How many comments readers see on each article (replies included); 0 for unknown keys."""
    wanted = list(dict.fromkeys(keys))
    ids = _ids_for(session, wanted)
    counts: dict[int, int] = {}
    cache = thread_cache.current()
    generations: dict[int, bytes] = {}
    if cache is not None:
        for article_id, value in cache.get_many(ids.values(), COUNT_FIELD).items():
            counts[article_id] = int(value)
        for article_id in set(ids.values()) - counts.keys():
            # The generation must be taken before the database is read (see the module's doc).
            found = cache.get(article_id, COUNT_FIELD)
            if found.value is not None:
                counts[article_id] = int(found.value)
            elif found.generation is not None:
                generations[article_id] = found.generation
    missing = set(ids.values()) - counts.keys()
    if missing:
        _end_transaction(session)
        read = threads.visible_counts(session, missing)
        counts.update(read)
        if cache is not None:
            for article_id, generation in generations.items():
                value = str(read.get(article_id, 0)).encode("ascii")
                cache.put(article_id, COUNT_FIELD, value, generation)
    return {key: counts.get(ids[key], 0) if key in ids else 0 for key in wanted}


def encode(page: dict[str, Any]) -> Body:
    """A page as compact UTF-8 JSON, with a strong ETag of those bytes."""
    data = json.dumps(page, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Body(data, f'"{hashlib.sha256(data).hexdigest()}"')


def _ids_for(session: Session, keys: list[str]) -> dict[str, int]:
    # Remembered ids first, then one query for the rest.
    ids: dict[str, int] = {}
    with _lock:
        for key in keys:
            found = _article_ids.get(key)
            if found is not None:
                ids[key] = found
    unknown = [k for k in keys if k not in ids]
    if unknown:
        rows = session.execute(select(Article.slug, Article.id).where(Article.slug.in_(unknown)))
        for slug, article_id in rows:
            ids[slug] = article_id
            _remember(slug, article_id)
    return ids


def _fresh_article(session: Session, article_id: int, key: str) -> Article | None:
    # A new transaction: on SQLite a read transaction keeps the snapshot of its first read,
    # which may predate the generation just taken (and a decision committed since).
    _end_transaction(session)
    # Read again, not from the session's identity map: its title or mode may have changed.
    article = session.get(Article, article_id, populate_existing=True)
    if article is not None and article.slug == key:
        return article
    # The id this process remembered now belongs elsewhere (a deleted article): look again.
    with _lock:
        _article_ids.pop(key, None)
    article = session.scalar(select(Article).where(Article.slug == key))
    if article is not None:
        _remember(key, article.id)
    return article


def _end_transaction(session: Session) -> None:
    if session.in_transaction():
        session.commit()


def _remember(key: str, article_id: int) -> None:
    with _lock:
        _article_ids[key] = article_id
        _article_ids.move_to_end(key)
        while len(_article_ids) > ARTICLE_IDS_MAX:
            _article_ids.popitem(last=False)
