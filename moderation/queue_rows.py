"""The comment queue's rows, each rendered once per version of its comment and then reused.

A row is a small page of its own: links, the checks' labels and reasons, the allowed
decisions and their buttons. Jinja takes about a third of a millisecond per row, so a page of
50 rows spent most of its time there, and every moderator who opens the queue sees the same
rows again and again until someone decides them. So each worker process keeps the rows it
rendered, keyed by everything they show (the comment's id, reference and version, the
language, the article's title and the check results). A decision bumps the version, so a
changed comment is never served stale; old rows simply fall out of the cache.

What differs from request to request is not kept: the row has slots (markers that escaped text
can never contain, because they start with "<") for the CSRF token, the page to come back to,
how long ago the comment came in, a colleague's claim and the readers' open flags. They are
filled in on every request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cachetools import LRUCache
from flask import current_app
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from core.models import Flag, Submission
from core.transitions import allowed_targets
from moderation.claims import Reviewer
from moderation.display import age

# Rows kept per worker process: a little over the pending rows of a busy desk's first pages
# (about 2.5 KB each, so some 5 MB).
CACHE_SIZE = 2000

TEMPLATE = "_queue_row.html"


class Slots:
    """The markers a cached row carries where each request puts its own values."""

    csrf = Markup("<tipline-slot:csrf>")
    next = Markup("<tipline-slot:next>")
    age = Markup("<tipline-slot:age>")
    claim = Markup("<tipline-slot:claim>")
    flags = Markup("<tipline-slot:flags>")


SLOTS = Slots

RowKey = tuple[Any, ...]


class RowCache:
    """Rendered rows by key, least recently used dropped first; safe across threads."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._rows: LRUCache[RowKey, str] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def get(self, key: RowKey) -> str | None:
        """The row rendered under `key`, if this process still has it."""
        with self._lock:
            return self._rows.get(key)

    def put(self, key: RowKey, html: str) -> None:
        """Keep `html` under `key`."""
        with self._lock:
            self._rows[key] = html

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)

    def clear(self) -> None:
        """Forget every row (tests; a deploy starts new processes anyway)."""
        with self._lock:
            self._rows.clear()


rows_cache = RowCache()


def row_key(submission: Submission, locale: str) -> RowKey:
    """Everything a row shows that could change: a different value renders a new row."""
    article = submission.article
    return (
        submission.id,
        # Unique for good, unlike the id, which SQLite may hand out again after a purge.
        submission.ref,
        submission.version,
        submission.status,
        locale,
        article.title if article is not None else None,
        tuple(result.id for result in submission.check_results),
    )


def render_rows(
    submissions: Sequence[Submission],
    *,
    flags: Mapping[int, Sequence[Flag]],
    claims: Mapping[int, Reviewer],
    here: str,
    excerpt_chars: int,
    cache: RowCache = rows_cache,
) -> list[Markup]:
    """The queue's rows for `submissions`, from the cache where possible, slots filled in."""
    locale = str(get_locale())
    module: Any = None
    csrf = str(escape(generate_csrf()))
    next_url = str(escape(here))
    rows = []
    for submission in submissions:
        key = row_key(submission, locale)
        html = cache.get(key)
        if html is None:
            if module is None:
                module = _template_module()
            html = str(module.row(submission, SLOTS, excerpt_chars))
            cache.put(key, html)
        # Our own rendered row, with values escaped above (or rendered by Jinja) put in.
        rows.append(
            Markup(  # noqa: S704
                _fill(
                    html,
                    {
                        SLOTS.csrf: csrf,
                        SLOTS.next: next_url,
                        SLOTS.age: str(escape(age(submission.created_at))),
                        SLOTS.claim: _optional(module, "reviewing_slot", claims.get(submission.id)),
                        SLOTS.flags: _optional(module, "flags_slot", flags.get(submission.id)),
                    },
                )
            )
        )
    return rows


def _template_module() -> Any:
    template = current_app.jinja_env.get_template(TEMPLATE)
    return template.make_module({"allowed_targets": allowed_targets})


def _optional(module: Any, macro: str, value: object) -> str:
    """A claim's or the flags' HTML when there is one (rare), else nothing."""
    if not value:
        return ""
    render: Callable[[object], Markup] = getattr(module or _template_module(), macro)
    return str(render(value))


def _fill(html: str, values: Mapping[str, str]) -> str:
    for marker, value in values.items():
        html = html.replace(marker, value)
    return html
