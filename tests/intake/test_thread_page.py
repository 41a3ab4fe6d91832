"""The public thread page (the embed's <noscript> target): replies, placeholders, orders, pages,
featured comments and the reply form, all without JavaScript."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.enums import Kind, Status
from core.models import Article, ReplySubscription, Submission
from tests.intake.helpers import add_article, html, post_comment, submissions

EN = {"Accept-Language": "en"}
T0 = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)


def _comment(
    session: Session,
    article: Article,
    minutes: int,
    body: str,
    *,
    name: str = "Ana",
    status: Status = Status.published,
    parent: Submission | None = None,
    featured: bool = False,
) -> Submission:
    comment = Submission(
        kind=Kind.comment,
        status=status,
        article_id=article.id,
        author_name=name,
        body=body,
        created_at=T0 + timedelta(minutes=minutes),
        parent_id=parent.id if parent else None,
        featured_at=T0 if featured else None,
    )
    session.add(comment)
    session.commit()
    return comment


def _item(page: str, comment: Submission) -> str:
    # The comment's <li>, up to the start of the next top-level one (or the list's end).
    start = page.index(f'id="comment-{comment.id}"')
    ends = [page.find(m, start + 1) for m in ('<li class="comment" ', "</ol>\n  {")]
    ends = [e for e in ends if e != -1]
    return page[start : min(ends) if ends else len(page)]


def test_replies_sit_under_their_comment_and_removed_ones_leave_a_placeholder(
    intake_client: FlaskClient, session: Session
) -> None:
    article = add_article(session)
    first = _comment(session, article, 1, "Primer comentario", name="Ana")
    _comment(session, article, 2, "Respuesta visible", name="Luis", parent=first)
    _comment(session, article, 3, "Respuesta quitada", status=Status.rejected, parent=first)
    _comment(session, article, 4, "Respuesta spam", status=Status.spam, parent=first)
    removed = _comment(session, article, 5, "Comentario quitado", status=Status.rejected)
    _comment(session, article, 6, "Respuesta al quitado", parent=removed)
    _comment(session, article, 7, "Spam de arriba", status=Status.spam)

    page = html(intake_client.get("/articles/la-zafra", headers=EN))

    assert "3 comments" in page[page.index('id="comments-title"') :][:200]
    for hidden in ("Respuesta quitada", "Respuesta spam", "Comentario quitado", "Spam de arriba"):
        assert hidden not in page
    replies = page[page.index(f'id="comment-{first.id}"') :]
    replies = replies[replies.index('<ol class="comment-replies">') :]
    assert replies.index("Respuesta visible") < replies.index("This comment was removed.")
    assert replies.index("This comment was removed.") < replies.index("</ol>")
    # The removed top-level comment is a placeholder holding its visible reply.
    placeholder = page[page.index(f'id="comment-{removed.id}"') :]
    assert placeholder.index("This comment was removed.") < placeholder.index(
        "Respuesta al quitado"
    )
    assert page.count("This comment was removed.") == 2


def test_orders_and_load_more_page_through_every_comment(
    intake_client: FlaskClient, session: Session
) -> None:
    article = add_article(session)
    bodies = [f"Comentario número {n:02d}" for n in range(25)]
    comments = [_comment(session, article, n, body) for n, body in enumerate(bodies)]
    for n in range(3):
        _comment(session, article, 30 + n, f"Respuesta {n}", parent=comments[3])

    page = html(intake_client.get("/articles/la-zafra", headers=EN))
    # Oldest first by default, as the page always was; 20 a page.
    assert page.index(bodies[0]) < page.index(bodies[19])
    assert bodies[20] not in page
    for label in ("Oldest first", "Newest first", "Most replies"):
        assert label in page
    assert 'href="/articles/la-zafra?order=oldest#comments-title" aria-current="true"' in page
    more = re.search(r'href="([^"]+)">Load more comments', page)
    assert more is not None
    rest = html(intake_client.get(more.group(1).replace("&amp;", "&"), headers=EN))
    assert all(body in rest for body in bodies[20:])
    assert not any(body in rest for body in bodies[:3])
    assert "Load more comments" not in rest

    newest = html(intake_client.get("/articles/la-zafra?order=newest", headers=EN))
    assert newest.index(bodies[24]) < newest.index(bodies[5])
    busiest = html(intake_client.get("/articles/la-zafra?order=replies", headers=EN))
    assert busiest.index(bodies[3]) < busiest.index(bodies[24])
    # An unknown order is the default one; a broken cursor is a clear 400.
    assert intake_client.get("/articles/la-zafra?order=best").status_code == 200
    broken = intake_client.get("/articles/la-zafra?cursor=garbage!", headers=EN)
    assert broken.status_code == 400
    assert "This link to more comments is broken" in html(broken)


def test_featured_comments_are_pinned_on_top_once(
    intake_client: FlaskClient, session: Session
) -> None:
    article = add_article(session)
    _comment(session, article, 1, "Un comentario cualquiera")
    star = _comment(session, article, 2, "El comentario destacado", featured=True)

    page = html(intake_client.get("/articles/la-zafra", headers=EN))

    featured = page[page.index("comment-list--featured") :]
    assert featured.index("Featured") < featured.index("El comentario destacado")
    assert page.index("El comentario destacado") < page.index("Un comentario cualquiera")
    assert page.count("El comentario destacado") == 1
    assert page.count(f'id="comment-{star.id}"') == 1


def test_a_reply_to_a_reply_is_stored_under_the_top_level_comment(
    intake_client: FlaskClient, session: Session
) -> None:
    article = add_article(session)
    top = _comment(session, article, 1, "Comentario de arriba", name="Ana")
    reply = _comment(session, article, 2, "Una respuesta", name="Luis", parent=top)

    page = html(intake_client.get("/articles/la-zafra", headers=EN))
    link = f'href="/articles/la-zafra?order=oldest&amp;reply_to={reply.id}#comment-form"'
    assert link in page
    assert f'reply_to={top.id}#comment-form"' in page

    form = html(intake_client.get(f"/articles/la-zafra?reply_to={reply.id}", headers=EN))
    assert "Replying to Luis" in form
    assert "Cancel reply" in form
    assert re.search(rf'<input[^>]*name="parent_id"[^>]*value="{reply.id}"', form)

    response = post_comment(
        intake_client,
        parent_id=str(reply.id),
        body="Respondo a Luis",
        email="ana@example.org",
        notify_replies="y",
    )
    assert response.status_code == 303
    stored = submissions(session)[-1]
    assert stored.body == "Respondo a Luis"
    assert stored.parent_id == top.id
    subscription = session.scalar(select(ReplySubscription))
    assert subscription is not None and subscription.submission_id == stored.id
    assert b"ana@example.org" not in (subscription.email_sealed or b"")


def test_a_reply_to_a_comment_no_longer_shown_is_refused_with_a_message(
    intake_client: FlaskClient, session: Session
) -> None:
    article = add_article(session)
    gone = _comment(session, article, 1, "Ya no está", status=Status.rejected)

    page = html(intake_client.get(f"/articles/la-zafra?reply_to={gone.id}", headers=EN))
    assert "The comment you are replying to is no longer available." in page
    assert 'name="parent_id"' not in page

    response = post_comment(intake_client, parent_id=str(gone.id), headers=EN)
    assert response.status_code == 422
    refused = html(response)
    assert "The comment you are replying to is no longer available." in refused
    assert 'href="#parent_id"' in refused  # the error summary leads to it
    assert len(submissions(session)) == 1

    assert post_comment(intake_client, parent_id="abc", headers=EN).status_code == 422
    assert post_comment(intake_client, parent_id=str(10**12), headers=EN).status_code == 422
    assert intake_client.get(f"/articles/la-zafra?reply_to={10**12}").status_code == 200
    assert len(submissions(session)) == 1


def test_reply_notifications_need_an_e_mail_address(
    intake_client: FlaskClient, session: Session
) -> None:
    add_article(session)
    page = html(intake_client.get("/articles/la-zafra", headers=EN))
    assert "Email me when someone replies" in page

    response = post_comment(intake_client, notify_replies="y", email="", headers=EN)
    assert response.status_code == 422
    assert "Enter your e-mail address to be told of replies, or untick the box." in html(response)
    assert 'href="#email"' in html(response)
    assert submissions(session) == []

    assert post_comment(intake_client, email="ana@example.org").status_code == 303
    assert session.scalar(select(ReplySubscription)) is None  # not asked for: not kept


def test_closed_articles_offer_no_reply_link(intake_client: FlaskClient, session: Session) -> None:
    from core.enums import ModerationMode

    article = add_article(session, mode=ModerationMode.closed)
    _comment(session, article, 1, "Comentario de antes del cierre")
    page = html(intake_client.get("/articles/la-zafra", headers=EN))
    assert "reply_to=" not in page
    assert "1 comment" in page


def test_more_replies_continue_where_the_first_fifty_stop(
    intake_client: FlaskClient, session: Session
) -> None:
    article = add_article(session)
    top = _comment(session, article, 0, "Comentario muy respondido")
    for n in range(53):
        _comment(session, article, 1 + n, f"Respuesta número {n:02d}.", parent=top)

    page = html(intake_client.get("/articles/la-zafra", headers=EN))
    assert "Respuesta número 49." in page and "Respuesta número 50." not in page
    more = re.search(r'href="([^"]+)">More replies', page)
    assert more is not None
    rest = html(intake_client.get(more.group(1).replace("&amp;", "&"), headers=EN))
    assert all(f"Respuesta número {n}." in rest for n in (50, 51, 52))
    assert "Respuesta número 49." not in rest
    assert "More replies" not in rest
    assert "54 comments" in rest
