"""What readers see of a thread: orders, pages, featured comments, replies, placeholders, counts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from core import threads
from core.enums import Kind, Status
from core.models import Article, Submission
from core.threads import BadCursor, replies_page, thread_page, visible_counts

PUBLIC = "https://comentarios.example"
T0 = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)


def _article(session: Session, slug: str = "la-zafra") -> Article:
    article = Article(slug=slug, title="La zafra", body="")
    session.add(article)
    session.commit()
    return article


def _comment(
    session: Session,
    article: Article,
    minutes: float,
    *,
    status: Status = Status.published,
    parent: Submission | None = None,
    featured: bool = False,
    body: str = "Un comentario",
    name: str = "Ana",
) -> Submission:
    comment = Submission(
        kind=Kind.comment,
        status=status,
        article_id=article.id,
        author_name=name,
        body=body,
        created_at=T0 + timedelta(minutes=minutes),
        parent_id=parent.id if parent else None,
        featured_at=T0 + timedelta(hours=1, minutes=minutes) if featured else None,
    )
    session.add(comment)
    session.commit()
    return comment


def _walk(session: Session, article: Article, order: str, limit: int) -> list[int]:
    seen: list[int] = []
    cursor = None
    for _ in range(100):
        page = thread_page(
            session, article, order=order, cursor=cursor, limit=limit, public_url=PUBLIC
        )
        seen += [c["id"] for c in page["comments"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the cursors never ended")


@contextmanager
def _queries(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        if args[2].lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_each_order_pages_through_every_comment_once(session: Session) -> None:
    article = _article(session)
    # Two comments at the same instant: the id breaks the tie, so none is skipped or repeated.
    a = _comment(session, article, 1)
    b = _comment(session, article, 2)
    c = _comment(session, article, 2)
    d = _comment(session, article, 3)
    e = _comment(session, article, 4)
    f = _comment(session, article, 5)
    for _ in range(3):
        _comment(session, article, 10, parent=b)
    _comment(session, article, 10, parent=e)
    _comment(session, article, 10, parent=d)

    assert _walk(session, article, "newest", 2) == [f.id, e.id, d.id, c.id, b.id, a.id]
    assert _walk(session, article, "oldest", 4) == [a.id, b.id, c.id, d.id, e.id, f.id]
    # Most replies first; equal counts newest first.
    assert _walk(session, article, "replies", 2) == [b.id, e.id, d.id, f.id, c.id, a.id]
    assert _walk(session, article, "newest", 50) == [f.id, e.id, d.id, c.id, b.id, a.id]


def test_a_page_knows_its_article_and_count(session: Session) -> None:
    article = _article(session)
    first = _comment(session, article, 1, body="Lea https://example.org/a?b=1&c=2 <b>hola</b>")
    _comment(session, article, 2, parent=first, name="Luis")
    page = thread_page(session, article, order="newest", cursor=None, limit=20, public_url=PUBLIC)
    assert page["article"] == {
        "key": "la-zafra",
        "title": "La zafra",
        "url": None,
        "status": "open",
        "thread_url": f"{PUBLIC}/articles/la-zafra",
    }
    assert page["count"] == 2
    assert page["order"] == "newest"
    [comment] = page["comments"]
    assert comment["reply_count"] == 1
    assert comment["created_at"] == "2026-11-30T05:01:00+00:00"
    assert comment["body_html"] == (
        'Lea <a href="https://example.org/a?b=1&amp;c=2" rel="nofollow ugc noopener">'
        "https://example.org/a?b=1&amp;c=2</a> &lt;b&gt;hola&lt;/b&gt;"
    )
    [reply] = comment["replies"]
    assert reply["author"] == "Luis"
    assert reply["parent_id"] == first.id
    assert "replies" not in reply


def test_featured_comments_are_pinned_on_the_first_page_only_and_never_repeated(
    session: Session,
) -> None:
    article = _article(session)
    ids = [_comment(session, article, m).id for m in range(5)]
    older = _comment(session, article, 6, featured=True)
    newer = _comment(session, article, 7, featured=True)
    _comment(session, article, 1, parent=newer)

    page = thread_page(session, article, order="oldest", cursor=None, limit=2, public_url=PUBLIC)
    # Newest featured first, with their replies.
    assert [c["id"] for c in page["featured"]] == [newer.id, older.id]
    assert page["featured"][0]["featured"] is True
    assert page["featured"][0]["reply_count"] == 1
    assert _walk(session, article, "oldest", 2) == ids
    second = thread_page(
        session, article, order="oldest", cursor=page["next_cursor"], limit=2, public_url=PUBLIC
    )
    assert second["featured"] == []
    assert page["count"] == 8


def test_removed_comments_leave_placeholders_and_spam_leaves_nothing(session: Session) -> None:
    article = _article(session)
    kept = _comment(session, article, 1)
    _comment(session, article, 2, parent=kept, name="Luis")
    removed_reply = _comment(session, article, 3, parent=kept, status=Status.rejected)
    _comment(session, article, 4, parent=kept, status=Status.spam)
    _comment(session, article, 5, parent=kept, status=Status.pending)
    reported = _comment(session, article, 6, parent=kept, status=Status.reported)
    # A removed comment with a visible reply stays as a placeholder; without one it goes.
    removed = _comment(session, article, 7, status=Status.rejected, name="Borrado")
    under_removed = _comment(session, article, 8, parent=removed)
    _comment(session, article, 9, status=Status.rejected)
    _comment(session, article, 10, status=Status.spam)
    spam_parent = _comment(session, article, 11, status=Status.spam)
    _comment(session, article, 12, parent=spam_parent)

    page = thread_page(session, article, order="newest", cursor=None, limit=20, public_url=PUBLIC)
    assert [c["id"] for c in page["comments"]] == [removed.id, kept.id]
    placeholder, comment = page["comments"]
    assert placeholder == {
        "id": removed.id,
        "parent_id": None,
        "author": None,
        "body": None,
        "body_html": None,
        "created_at": "2026-11-30T05:07:00+00:00",
        "featured": False,
        "removed": True,
        "reply_count": 1,
        "replies": placeholder["replies"],
        "replies_next_cursor": None,
    }
    assert [r["id"] for r in placeholder["replies"]] == [under_removed.id]
    replies = comment["replies"]
    assert [r["removed"] for r in replies] == [False, True, False]
    assert replies[1]["id"] == removed_reply.id
    assert replies[1]["author"] is None and replies[1]["body"] is None
    assert replies[2]["id"] == reported.id
    assert comment["reply_count"] == 2
    # Visible: kept, its two visible replies, the reply under the placeholder.
    assert page["count"] == 4
    assert visible_counts(session, [article.id]) == {article.id: 4}
    assert replies_page(session, spam_parent.id) is None
    assert [r["id"] for r in replies_page(session, removed.id)["replies"]] == [under_removed.id]


def test_replies_are_oldest_first_capped_and_continued(session: Session) -> None:
    article = _article(session)
    parent = _comment(session, article, 0)
    replies = [_comment(session, article, 1 + i / 10, parent=parent).id for i in range(53)]
    page = thread_page(session, article, order="newest", cursor=None, limit=20, public_url=PUBLIC)
    [comment] = page["comments"]
    assert comment["reply_count"] == 53
    assert [r["id"] for r in comment["replies"]] == replies[:50]
    rest = replies_page(session, parent.id, cursor=comment["replies_next_cursor"], limit=2)
    assert rest is not None
    assert [r["id"] for r in rest["replies"]] == replies[50:52]
    last = replies_page(session, parent.id, cursor=rest["next_cursor"], limit=2)
    assert last is not None
    assert [r["id"] for r in last["replies"]] == replies[52:]
    assert last["next_cursor"] is None
    whole = replies_page(session, parent.id)
    assert whole is not None and len(whole["replies"]) == 50
    # Only top-level comments have replies.
    assert replies_page(session, replies[0]) is None
    assert replies_page(session, 10**6) is None


@pytest.mark.parametrize(
    "cursor",
    ["garbage!", "e30", "W10", "bm90IGpzb24", "x" * 400, "eyJrIjoibmV3ZXN0In0"],
)
def test_a_garbled_cursor_is_refused(session: Session, cursor: str) -> None:
    article = _article(session)
    with pytest.raises(BadCursor):
        thread_page(session, article, order="newest", cursor=cursor, limit=5, public_url=PUBLIC)
    with pytest.raises(BadCursor):
        replies_page(session, 1, cursor=cursor)


def test_a_cursor_works_only_for_its_own_order_and_article(session: Session) -> None:
    article = _article(session)
    other = _article(session, "otro")
    for m in range(3):
        _comment(session, article, m)
    page = thread_page(session, article, order="newest", cursor=None, limit=1, public_url=PUBLIC)
    cursor = page["next_cursor"]
    with pytest.raises(BadCursor):
        thread_page(session, article, order="oldest", cursor=cursor, limit=1, public_url=PUBLIC)
    with pytest.raises(BadCursor):
        thread_page(session, other, order="newest", cursor=cursor, limit=1, public_url=PUBLIC)
    with pytest.raises(BadCursor):
        replies_page(session, article.id, cursor=cursor)
    with pytest.raises(ValueError):
        thread_page(session, article, order="best", cursor=None, limit=1, public_url=PUBLIC)


def test_counts_of_many_articles_in_one_query(session: Session, engine: Engine) -> None:
    one, two, empty = _article(session, "uno"), _article(session, "dos"), _article(session, "tres")
    top = _comment(session, one, 1)
    _comment(session, one, 2, parent=top)
    _comment(session, one, 3, status=Status.pending)
    _comment(session, two, 1, status=Status.reported)
    with _queries(engine) as statements:
        counts = visible_counts(session, [one.id, two.id, empty.id, 999_999])
    assert counts == {one.id: 2, two.id: 1, empty.id: 0, 999_999: 0}
    assert len(statements) == 1


def test_a_page_costs_the_same_few_queries_however_big_the_thread(
    session: Session, engine: Engine
) -> None:
    article = _article(session)

    def cost() -> int:
        session.commit()
        with _queries(engine) as statements:
            thread_page(session, article, order="replies", cursor=None, limit=50, public_url=PUBLIC)
        return len(statements)

    parent = _comment(session, article, 0, featured=True)
    _comment(session, article, 1, parent=parent)
    small = cost()
    for m in range(40):
        top = _comment(session, article, 2 + m, featured=m % 10 == 0)
        _comment(session, article, 2 + m, parent=top)
        _comment(session, article, 2 + m, parent=top, status=Status.rejected)
    assert cost() == small <= 4


def test_comment_json_never_shows_what_readers_may_not_see() -> None:
    hidden = Submission(
        id=5,
        kind=Kind.comment,
        status=Status.pending,
        author_name="Ana",
        body="secreto",
        created_at=T0,
        parent_id=3,
    )
    data = threads.comment_json(hidden)
    assert data["removed"] is True
    assert data["author"] is None and data["body"] is None and data["body_html"] is None
    assert "replies" not in data
