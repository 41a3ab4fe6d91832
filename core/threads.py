"""What readers see of an article's comments: pages of its thread, replies, counts (as JSON).

One level of replies: a reply names its top-level comment (`Submission.parent_id`). Readers see
comments that are published or reported. A comment a moderator rejected leaves a placeholder
("removed") where it was: always for a reply, and for a top-level comment only while it still has
replies readers can see. Spam never shows, not even as a placeholder. Featured comments are
listed apart, on a thread's first page, and not repeated in its pages.

Pages are cut by keyset cursors (the sort key of the last comment shown), so that a page costs
the same however far a reader has scrolled, and new comments never shift what comes next. A page
costs four queries whatever its size: featured, the page with reply counts, their replies, the
count.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, Protocol
from urllib.parse import quote

from sqlalchemy import ColumnElement, Integer, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from core.enums import Kind, ModerationMode, Status
from core.models import Article, Submission
from core.text import linkify

ORDERS = ("newest", "oldest", "replies")
DEFAULT_ORDER = "newest"
DEFAULT_LIMIT = 20
LIMIT_MAX = 50
# Replies shown under each comment of a page; the rest come through replies_page.
REPLIES_INLINE = 50
REPLIES_LIMIT_MAX = 50
# A cursor is short; anything much longer is not one of ours.
CURSOR_MAX = 300

# What readers see (intake.submissions.VISIBLE: a reported comment stays up until decided).
VISIBLE = (Status.published, Status.reported)
# What a thread shows in some form: visible comments and the placeholders of removed ones.
SHOWN = (*VISIBLE, Status.rejected)

ARTICLE_STATUS = {
    ModerationMode.post: "open",
    ModerationMode.pre: "premoderated",
    ModerationMode.closed: "closed",
}


class BadCursor(ValueError):
    """A cursor this code did not make, or made for another order, article or comment."""


class CommentRow(Protocol):
    """What comment_json reads of a comment: a Submission or a row with these columns."""

    @property
    def id(self) -> int: ...
    @property
    def parent_id(self) -> int | None: ...
    @property
    def author_name(self) -> str | None: ...
    @property
    def body(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def featured_at(self) -> datetime | None: ...
    @property
    def status(self) -> Status: ...


def iso(moment: datetime) -> str:
    """A timestamp as ISO 8601 in UTC, to the second."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def article_json(article: Article, public_url: str) -> dict[str, Any]:
    """The API's Article object; `public_url` is the public site's base URL."""
    return {
        "key": article.slug,
        "title": article.title,
        "url": article.url,
        "status": ARTICLE_STATUS[article.mode],
        "thread_url": thread_url(public_url, article.slug),
    }


def thread_url(public_url: str, key: str) -> str:
    """The absolute URL of an article's thread page on the public site."""
    return f"{public_url.rstrip('/')}/articles/{quote(key, safe='')}"


def comment_json(
    comment: CommentRow,
    *,
    replies: list[dict[str, Any]] | None = None,
    reply_count: int = 0,
    replies_next_cursor: str | None = None,
) -> dict[str, Any]:
    """The API's Comment (top-level) or Reply object; a placeholder unless readers may see it.

    `body_html` is Markup (escaped text with safe links): json.dumps writes it as a string, and
    a template shows it as it is.
    """
    visible = comment.status in VISIBLE
    data: dict[str, Any] = {
        "id": comment.id,
        "parent_id": comment.parent_id,
        "author": comment.author_name if visible else None,
        "body": comment.body if visible else None,
        "body_html": linkify(comment.body or "") if visible else None,
        "created_at": iso(comment.created_at),
        "featured": visible and comment.featured_at is not None and comment.parent_id is None,
        "removed": not visible,
    }
    if comment.parent_id is None:
        data["reply_count"] = reply_count
        data["replies"] = replies if replies is not None else []
        data["replies_next_cursor"] = replies_next_cursor
    return data


def thread_page(
    session: Session,
    article: Article,
    *,
    order: str = DEFAULT_ORDER,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    public_url: str,
) -> dict[str, Any]:
    """One page of an article's thread: the body of GET /api/v1/articles/{key}/comments.

    `featured` is filled on the first page only (no cursor); BadCursor for a cursor that is not
    one this function handed out for this article and order; ValueError for an unknown order.
    """
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}")
    limit = max(1, min(limit, LIMIT_MAX))
    position = _decode(cursor, kind=order, owner=article.id) if cursor else None

    featured = [] if position else _featured(session, article.id)
    rows = _page(session, article.id, order, position, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    replies = _replies_of(session, [r.id for r in featured] + [r.id for r in rows])

    def top(row: Any, count: int) -> dict[str, Any]:
        shown = replies.get(row.id, [])
        next_cursor = None
        if len(shown) > REPLIES_INLINE:
            shown = shown[:REPLIES_INLINE]
            next_cursor = _reply_cursor(row.id, shown[-1])
        return comment_json(
            row,
            replies=[comment_json(r) for r in shown],
            reply_count=count,
            replies_next_cursor=next_cursor,
        )

    next_cursor = _page_cursor(order, article.id, rows[-1]) if more and rows else None
    return {
        "article": article_json(article, public_url),
        "count": visible_counts(session, [article.id]).get(article.id, 0),
        "order": order,
        "featured": [top(r, r.reply_count) for r in featured],
        "comments": [top(r, r.reply_count) for r in rows],
        "next_cursor": next_cursor,
    }


def replies_page(
    session: Session, parent_id: int, *, cursor: str | None = None, limit: int = REPLIES_LIMIT_MAX
) -> dict[str, Any] | None:
    """Replies to a top-level comment, oldest first: `{"replies", "next_cursor"}`.

    None if `parent_id` is not a top-level comment shown in its thread. BadCursor for a cursor
    not handed out for this comment's replies.
    """
    limit = max(1, min(limit, REPLIES_LIMIT_MAX))
    position = _decode(cursor, kind="r", owner=parent_id) if cursor else None
    parent = session.execute(
        select(Submission.status, Submission.parent_id).where(
            Submission.id == parent_id, Submission.kind == Kind.comment
        )
    ).first()
    if parent is None or parent.parent_id is not None or parent.status not in SHOWN:
        return None
    # A removed comment is shown (as a placeholder) only while it has replies readers see.
    if parent.status not in VISIBLE and not _has_visible_replies(session, parent_id):
        return None
    params: dict[str, Any] = {"parent_id": parent_id, "limit": limit + 1}
    if position is not None:
        params.update(at=position["c"], last_id=position["i"])
    rows = list(session.execute(_replies_page_statement(position is not None), params))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "replies": [comment_json(r) for r in rows],
        "next_cursor": _reply_cursor(parent_id, rows[-1]) if more and rows else None,
    }


def visible_counts(session: Session, article_ids: Iterable[int]) -> dict[int, int]:
    """How many comments readers see on each article, replies included (0 for none); one query."""
    ids = sorted(set(article_ids))
    if not ids:
        return {}
    counts = dict.fromkeys(ids, 0)
    rows = session.execute(_counts_statement(), {"article_ids": ids})
    counts.update({a: int(n) for a, n in rows if a is not None})
    return counts


def reply_target(session: Session, article_id: int, comment_id: int) -> Submission | None:
    """The comment a reader may answer on the article (visible), or None."""
    found = session.scalar(
        select(Submission).where(
            Submission.id == comment_id,
            Submission.article_id == article_id,
            Submission.kind == Kind.comment,
            Submission.status.in_(VISIBLE),
        )
    )
    return found


def check_cursor(cursor: str) -> None:
    """Raise BadCursor unless `cursor` reads as one of ours (whatever it was made for)."""
    _read(cursor)


# --- queries -------------------------------------------------------------------------------
# Each statement is built once and only bound per call: building SQLAlchemy statements (the
# derived table, its columns) cost more than running them on a 200-comment thread.

_ARTICLE = bindparam("article_id", type_=Integer)
_AT = bindparam("at", type_=Submission.__table__.c.created_at.type)
_LAST = bindparam("last_id", type_=Integer)
_N = bindparam("n", type_=Integer)
_LIMIT = bindparam("limit", type_=Integer)


def _columns() -> tuple[Any, ...]:
    return (
        Submission.id,
        Submission.parent_id,
        Submission.author_name,
        Submission.body,
        Submission.created_at,
        Submission.featured_at,
        Submission.status,
    )


def _reply_columns() -> Any:
    return select(*_columns()).where(Submission.kind == Kind.comment, Submission.status.in_(SHOWN))


def _top_level() -> tuple[Any, ColumnElement[int]]:
    # Visible replies per comment of the article, read through ix_submissions_article_status.
    counts = (
        select(Submission.parent_id.label("parent_id"), func.count().label("n"))
        .where(
            Submission.article_id == _ARTICLE,
            Submission.kind == Kind.comment,
            Submission.status.in_(VISIBLE),
            Submission.parent_id.is_not(None),
        )
        .group_by(Submission.parent_id)
        .subquery("reply_counts")
    )
    reply_count = func.coalesce(counts.c.n, 0)
    query = (
        select(*_columns(), reply_count.label("reply_count"))
        .outerjoin(counts, counts.c.parent_id == Submission.id)
        .where(
            Submission.article_id == _ARTICLE,
            Submission.kind == Kind.comment,
            Submission.parent_id.is_(None),
            # Visible, or removed but with replies readers see (then it is a placeholder).
            or_(
                Submission.status.in_(VISIBLE),
                and_(Submission.status == Status.rejected, reply_count > 0),
            ),
        )
    )
    return query, reply_count


@cache
def _featured_statement() -> Any:
    query, _ = _top_level()
    query = query.where(Submission.featured_at.is_not(None), Submission.status.in_(VISIBLE))
    return query.order_by(Submission.featured_at.desc(), Submission.id.desc())


@cache
def _page_statement(order: str, after: bool) -> Any:
    query, reply_count = _top_level()
    # Featured comments are listed apart on the first page, never in the pages.
    query = query.where(or_(Submission.featured_at.is_(None), Submission.status.not_in(VISIBLE)))
    created, ident = Submission.created_at, Submission.id
    if order == "oldest":
        query = query.order_by(created, ident)
        if after:
            query = query.where(or_(created > _AT, and_(created == _AT, ident > _LAST)))
    else:
        newest = (created.desc(), ident.desc())
        ordering = (reply_count.desc(), *newest) if order == "replies" else newest
        query = query.order_by(*ordering)
        if after:
            later = or_(created < _AT, and_(created == _AT, ident < _LAST))
            if order == "replies":
                later = or_(reply_count < _N, and_(reply_count == _N, later))
            query = query.where(later)
    return query.limit(_LIMIT)


@cache
def _replies_statement() -> Any:
    # The first REPLIES_INLINE + 1 replies of each comment (one more tells that more exist), in
    # one query: numbered per comment by a window function (PostgreSQL, SQLite >= 3.25).
    numbered = (
        _reply_columns()
        .add_columns(
            func.row_number()
            .over(
                partition_by=Submission.parent_id,
                order_by=(Submission.created_at, Submission.id),
            )
            .label("rn")
        )
        .where(Submission.parent_id.in_(bindparam("parent_ids", expanding=True)))
        .subquery("numbered")
    )
    return (
        select(numbered)
        .where(numbered.c.rn <= REPLIES_INLINE + 1)
        .order_by(numbered.c.parent_id, numbered.c.rn)
    )


@cache
def _replies_page_statement(after: bool) -> Any:
    query = _reply_columns().where(Submission.parent_id == bindparam("parent_id", type_=Integer))
    if after:
        created, ident = Submission.created_at, Submission.id
        query = query.where(or_(created > _AT, and_(created == _AT, ident > _LAST)))
    return query.order_by(Submission.created_at, Submission.id).limit(_LIMIT)


@cache
def _counts_statement() -> Any:
    parent = aliased(Submission)
    # A reply counts only where its comment is shown: under a visible one or a placeholder.
    return (
        select(Submission.article_id, func.count())
        .outerjoin(parent, parent.id == Submission.parent_id)
        .where(
            Submission.article_id.in_(bindparam("article_ids", expanding=True)),
            Submission.kind == Kind.comment,
            Submission.status.in_(VISIBLE),
            or_(Submission.parent_id.is_(None), parent.status.in_(SHOWN)),
        )
        .group_by(Submission.article_id)
    )


def _featured(session: Session, article_id: int) -> list[Any]:
    return list(session.execute(_featured_statement(), {"article_id": article_id}))


def _page(
    session: Session, article_id: int, order: str, position: dict[str, Any] | None, limit: int
) -> list[Any]:
    params: dict[str, Any] = {"article_id": article_id, "limit": limit}
    if position is not None:
        params.update(at=position["c"], last_id=position["i"], n=position["n"])
    return list(session.execute(_page_statement(order, position is not None), params))


def _replies_of(session: Session, parent_ids: Sequence[int]) -> dict[int, list[Any]]:
    if not parent_ids:
        return {}
    found: dict[int, list[Any]] = {}
    for row in session.execute(_replies_statement(), {"parent_ids": list(parent_ids)}):
        found.setdefault(row.parent_id, []).append(row)
    return found


def _has_visible_replies(session: Session, parent_id: int) -> bool:
    found = session.scalar(
        select(Submission.id)
        .where(Submission.parent_id == parent_id, Submission.status.in_(VISIBLE))
        .limit(1)
    )
    return found is not None


# --- cursors ---------------------------------------------------------------------------------


def _page_cursor(order: str, article_id: int, row: Any) -> str:
    position: dict[str, Any] = {
        "k": order,
        "o": article_id,
        "c": _stamp(row.created_at),
        "i": row.id,
    }
    if order == "replies":
        position["n"] = int(row.reply_count)
    return _encode(position)


def _reply_cursor(parent_id: int, row: Any) -> str:
    return _encode({"k": "r", "o": parent_id, "c": _stamp(row.created_at), "i": row.id})


def _stamp(moment: datetime) -> str:
    # Full precision: the keyset compares it with the stored timestamps.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _encode(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _read(cursor: str) -> dict[str, Any]:
    if not isinstance(cursor, str) or not cursor or len(cursor) > CURSOR_MAX:
        raise BadCursor("not a cursor")
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        position = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise BadCursor("not a cursor") from exc
    if not isinstance(position, dict):
        raise BadCursor("not a cursor")
    return position


def _decode(cursor: str, *, kind: str, owner: int) -> dict[str, Any]:
    position = _read(cursor)
    if position.get("k") != kind or position.get("o") != owner:
        raise BadCursor("this cursor belongs to another list")
    ident, stamp, n = position.get("i"), position.get("c"), position.get("n", 0)
    if not (_is_int(ident) and isinstance(stamp, str) and _is_int(n)):
        raise BadCursor("not a cursor")
    try:
        at = datetime.fromisoformat(stamp)
    except ValueError as exc:
        raise BadCursor("not a cursor") from exc
    if at.tzinfo is None:
        raise BadCursor("not a cursor")
    return {"c": at.astimezone(UTC), "i": ident, "n": n}


def _is_int(value: object) -> bool:
    # bool is an int in Python, never in a cursor; ids and counts fit a 32-bit column.
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31
