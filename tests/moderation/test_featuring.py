"""Featuring a comment from its page, and a reply's page showing the comment it answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from core import thread_cache
from core.enums import Status
from core.models import Article, AuditEvent, StaffUser, Submission
from tests.intake.helpers import html
from tests.moderation.conftest import login, token_from


def _page(submission: Submission) -> str:
    return f"/submissions/{submission.id}"


def _reply_to(session: Session, parent: Submission, reply: Submission) -> Submission:
    reply.parent_id = parent.id
    session.commit()
    return reply


def _fresh(session: Session, submission: Submission) -> Submission:
    found = session.get(Submission, submission.id)
    assert found is not None
    session.refresh(found)
    session.commit()
    return found


def _audit(session: Session) -> list[tuple[str, int | None, str]]:
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.submission_id, AuditEvent.actor_label)
        .where(AuditEvent.action.in_(("feature", "unfeature")))
        .order_by(AuditEvent.id)
    ).all()
    session.commit()
    return [(a, s, who) for a, s, who in rows]


@contextmanager
def _statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def test_a_moderator_features_a_comment_and_its_cached_thread_is_dropped(
    client: FlaskClient,
    moderator: StaffUser,
    session: Session,
    article: Article,
    make_comment: Callable[..., Submission],
) -> None:
    comment = make_comment(status=Status.published)
    login(client, moderator.email)
    cache = thread_cache.current()
    assert cache is not None
    lookup = cache.get(article.id, "newest")
    assert cache.put(article.id, "newest", b"the thread as it was", lookup.generation)
    page = html(client.get(_page(comment)))
    assert ">Feature</button>" in page and 'id="featured"' not in page

    response = client.post(
        f"{_page(comment)}/feature",
        data={"csrf_token": token_from(client, _page(comment))},
        follow_redirects=True,
    )

    assert response.status_code == 200
    page = html(response)
    assert "Comment featured." in page
    assert 'id="featured"' in page and ">Stop featuring</button>" in page
    assert _fresh(session, comment).featured_at is not None
    assert cache.get(article.id, "newest").value is None
    assert _audit(session) == [("feature", comment.id, moderator.email)]

    # Featuring it again changes nothing and writes nothing.
    client.post(
        f"{_page(comment)}/feature", data={"csrf_token": token_from(client, _page(comment))}
    )
    assert len(_audit(session)) == 1


def test_stop_featuring_clears_it_audits_and_drops_the_cache(
    client: FlaskClient,
    moderator: StaffUser,
    session: Session,
    article: Article,
    make_comment: Callable[..., Submission],
) -> None:
    comment = make_comment(status=Status.reported)
    login(client, moderator.email)
    client.post(
        f"{_page(comment)}/feature", data={"csrf_token": token_from(client, _page(comment))}
    )
    cache = thread_cache.current()
    assert cache is not None
    lookup = cache.get(article.id, "count")
    assert cache.put(article.id, "count", b"3", lookup.generation)

    page = html(
        client.post(
            f"{_page(comment)}/unfeature",
            data={"csrf_token": token_from(client, _page(comment))},
            follow_redirects=True,
        )
    )

    assert "Comment no longer featured." in page and ">Feature</button>" in page
    assert _fresh(session, comment).featured_at is None
    assert cache.get(article.id, "count").value is None
    assert [a for a, _, _ in _audit(session)] == ["feature", "unfeature"]


def test_a_reply_cannot_be_featured(
    client: FlaskClient,
    moderator: StaffUser,
    session: Session,
    make_comment: Callable[..., Submission],
) -> None:
    parent = make_comment(status=Status.published)
    reply = _reply_to(session, parent, make_comment("Una respuesta", status=Status.published))
    login(client, moderator.email)
    assert ">Feature</button>" not in html(client.get(_page(reply)))

    response = client.post(
        f"{_page(reply)}/feature", data={"csrf_token": token_from(client, _page(reply))}
    )

    assert response.status_code == 400
    assert "A reply cannot be featured" in html(response)
    assert _fresh(session, reply).featured_at is None
    assert _audit(session) == []


def test_only_visible_comments_can_be_featured(
    client: FlaskClient,
    moderator: StaffUser,
    session: Session,
    make_comment: Callable[..., Submission],
) -> None:
    pending = make_comment(status=Status.pending)
    login(client, moderator.email)
    assert ">Feature</button>" not in html(client.get(_page(pending)))

    response = client.post(
        f"{_page(pending)}/feature", data={"csrf_token": token_from(client, _page(pending))}
    )

    assert response.status_code == 400
    assert "Only a published comment can be featured." in html(response)
    assert _fresh(session, pending).featured_at is None


def test_featuring_needs_the_csrf_token(
    client: FlaskClient,
    moderator: StaffUser,
    session: Session,
    make_comment: Callable[..., Submission],
) -> None:
    comment = make_comment(status=Status.published)
    login(client, moderator.email)

    assert client.post(f"{_page(comment)}/feature").status_code == 400
    assert client.post("/submissions/999999/feature").status_code == 400
    assert _fresh(session, comment).featured_at is None


def test_a_reply_shows_the_comment_it_answers_in_one_more_query(
    client: FlaskClient,
    moderator: StaffUser,
    session: Session,
    make_comment: Callable[..., Submission],
) -> None:
    long_text = "Palabra " * 60
    parent = make_comment(long_text, status=Status.published, name="Beatriz")
    reply = _reply_to(session, parent, make_comment("De acuerdo", status=Status.published))
    login(client, moderator.email)
    client.get(_page(parent))  # claims and sessions settled before counting
    client.get(_page(reply))

    with _statements() as top_level:
        parent_page = html(client.get(_page(parent)))
    with _statements() as on_reply:
        page = html(client.get(_page(reply)))

    assert "In reply to" not in parent_page
    assert "In reply to Beatriz" in page
    excerpt = " ".join(long_text.split())[:200] + "…"
    assert excerpt in page
    assert f'<a href="{_page(parent)}">' in page
    assert len(on_reply) == len(top_level) + 1
