"""The public JSON API: threads, articles, comments, replies, flags, receipts, counts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import limits
from core.api_tokens import create_token
from core.config import Settings
from core.enums import Kind, ModerationMode, Role, Status
from core.models import Article, Flag, ReplySubscription, Submission
from core.staff import create_staff_user
from core.transitions import change_status
from tests.intake.api_helpers import (
    ARTICLE_URL,
    OTHER,
    OUTLET,
    Thread,
    add_thread,
    allow,
    get_json,
    post_json,
)
from tests.intake.helpers import add_article, submissions

COMMENT = {"name": "Ana", "body": "Muy buen reportaje sobre la zafra."}


@pytest.fixture
def client(intake_app: Flask, session: Session) -> Iterator[FlaskClient]:
    """A client of the public site, which lets OUTLET embed threads."""
    allow(session, OUTLET)
    yield intake_app.test_client()


@pytest.fixture
def thread(session: Session) -> Thread:
    """An article with comments, a featured one and replies."""
    return add_thread(session)


@pytest.fixture
def cms_token(session: Session, settings: Settings) -> str:
    """A live CMS token's plaintext."""
    return create_token(session, settings.hash_key, "CMS", None)[1]


# --- reading a thread --------------------------------------------------------------------------


def test_thread_lists_published_comments_featured_first_and_replies(
    client: FlaskClient, thread: Thread
) -> None:
    response = get_json(client, "/articles/la-zafra/comments")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert data["article"]["key"] == "la-zafra"
    assert data["article"]["status"] == "open"
    assert data["article"]["thread_url"].endswith("/articles/la-zafra")
    # Three visible comments and one visible reply; spam and the removed reply don't count.
    assert data["count"] == 4
    assert [c["id"] for c in data["featured"]] == [thread.featured.id]
    assert [c["id"] for c in data["comments"]] == [thread.second.id, thread.first.id]
    first = data["comments"][1]
    assert first["reply_count"] == 1
    assert [r["id"] for r in first["replies"]] == [thread.reply.id, thread.removed_reply.id]
    assert first["replies"][1]["removed"] is True and first["replies"][1]["body"] is None
    assert '<a href="https://example.org/enlace"' in first["body_html"]


def test_thread_has_an_etag_and_answers_304_when_unchanged(
    client: FlaskClient, thread: Thread, session: Session
) -> None:
    response = get_json(client, "/articles/la-zafra/comments")
    etag = response.headers["ETag"]
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Origin" in response.headers["Vary"]
    again = get_json(client, "/articles/la-zafra/comments", **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    # A moderator's decision changes the page and so its ETag.
    moderator = create_staff_user(session, "mod@example.org", "mod-password-12345", Role.moderator)
    session.refresh(thread.second)
    change_status(
        session,
        thread.second,
        Status.rejected,
        expected_version=thread.second.version,
        actor=moderator,
    )
    changed = get_json(client, "/articles/la-zafra/comments", **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert thread.second.id not in [c["id"] for c in changed.get_json()["comments"]]


@pytest.mark.parametrize(
    "query",
    ["order=best", "limit=0", "limit=51", "limit=abc", "cursor=nonsense!"],
)
def test_bad_thread_arguments_get_400_with_a_message(
    client: FlaskClient, thread: Thread, query: str
) -> None:
    response = get_json(client, f"/articles/la-zafra/comments?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_pages_follow_the_cursor(client: FlaskClient, thread: Thread) -> None:
    first = get_json(client, "/articles/la-zafra/comments?order=oldest&limit=1").get_json()
    assert [c["id"] for c in first["comments"]] == [thread.first.id]
    cursor = first["next_cursor"]
    second = get_json(client, f"/articles/la-zafra/comments?order=oldest&limit=1&cursor={cursor}")
    data = second.get_json()
    assert [c["id"] for c in data["comments"]] == [thread.second.id]
    assert data["featured"] == []  # only on the first page


def test_unknown_article_is_404_json(client: FlaskClient) -> None:
    response = get_json(client, "/articles/no-such-article/comments")
    assert response.status_code == 404
    assert response.get_json()["error"]


def test_replies_page(client: FlaskClient, thread: Thread) -> None:
    response = get_json(client, f"/comments/{thread.first.id}/replies?limit=1")
    data = response.get_json()
    assert [r["id"] for r in data["replies"]] == [thread.reply.id]
    more = get_json(client, f"/comments/{thread.first.id}/replies?cursor={data['next_cursor']}")
    assert [r["id"] for r in more.get_json()["replies"]] == [thread.removed_reply.id]
    assert get_json(client, f"/comments/{thread.reply.id}/replies").status_code == 404
    assert get_json(client, "/comments/99999999999/replies").status_code == 404


# --- counts ------------------------------------------------------------------------------------


def test_counts_of_many_articles(client: FlaskClient, thread: Thread, session: Session) -> None:
    add_article(session, slug="otra")
    response = get_json(client, "/counts?key=la-zafra&key=otra&key=desconocida")
    assert response.status_code == 200
    assert response.get_json() == {"counts": {"la-zafra": 4, "otra": 0, "desconocida": 0}}


@pytest.mark.parametrize(
    "query", ["", "key=", "key=%2Fetc", "&".join(f"key=a{i}" for i in range(101))]
)
def test_counts_refuse_bad_keys(client: FlaskClient, query: str) -> None:
    response = get_json(client, f"/counts?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"]


# --- registering articles ----------------------------------------------------------------------


def test_an_allowed_site_registers_its_article_on_first_sight(
    client: FlaskClient, session: Session
) -> None:
    body = {"key": "nueva-123", "title": "  Una  nueva\u200b nota ", "url": f"{OUTLET}/nueva"}
    response = post_json(client, "/articles", body)
    assert response.status_code == 201
    data = response.get_json()
    assert data["key"] == "nueva-123"
    assert data["title"] == "Una nueva nota"
    assert data["status"] == "open"
    article = session.scalar(select(Article).where(Article.slug == "nueva-123"))
    assert article is not None and article.mode is ModerationMode.post
    session.commit()  # end the read transaction (on SQLite it holds the write lock)
    # Seen again, it is found; a page cannot rename it.
    again = post_json(client, "/articles", {**body, "title": "Otro título"})
    assert again.status_code == 200
    assert again.get_json()["title"] == "Una nueva nota"


def test_an_allowed_site_cannot_register_another_sites_page(client: FlaskClient) -> None:
    body = {"key": "ajena", "title": "Ajena", "url": f"{OTHER}/ajena"}
    response = post_json(client, "/articles", body)
    assert response.status_code == 403
    assert response.get_json()["error"]


def test_a_token_registers_and_updates_articles(
    client: FlaskClient, session: Session, cms_token: str
) -> None:
    body = {"key": "cms-1", "title": "Título", "url": "https://cdn.other.example/cms-1"}
    assert post_json(client, "/articles", body, origin=None, token=cms_token).status_code == 201
    changed = {**body, "title": "Título corregido"}
    response = post_json(client, "/articles", changed, origin=None, token=cms_token)
    assert response.status_code == 200
    assert response.get_json()["title"] == "Título corregido"
    session.expire_all()
    article = session.scalar(select(Article).where(Article.slug == "cms-1"))
    assert article is not None and article.title == "Título corregido"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "-mala", "title": "T", "url": ARTICLE_URL}, "key"),
        ({"key": "x" * 201, "title": "T", "url": ARTICLE_URL}, "key"),
        ({"key": "k", "title": "", "url": ARTICLE_URL}, "title"),
        ({"key": "k", "title": "T" * 301, "url": ARTICLE_URL}, "title"),
        ({"key": "k", "title": 5, "url": ARTICLE_URL}, "title"),
        ({"key": "k", "title": "T", "url": "javascript:alert(1)"}, "url"),
        ({"key": "k", "title": "T", "url": OUTLET + "/" + "a" * 2000}, "url"),
    ],
)
def test_registration_validates_each_field(
    client: FlaskClient, body: dict[str, object], field: str
) -> None:
    response = post_json(client, "/articles", body)
    assert response.status_code == 422
    assert field in response.get_json()["fields"]


# --- posting comments and replies --------------------------------------------------------------


def test_post_a_comment(client: FlaskClient, thread: Thread, session: Session) -> None:
    response = post_json(
        client, "/articles/la-zafra/comments", {**COMMENT, "email": "ana@example.com"}
    )
    assert response.status_code == 201
    data = response.get_json()
    assert data["state"] == "checking"
    assert data["status_url"] == f"/api/v1/receipts/{data['ref']}"
    assert data["message"]
    stored = session.scalar(select(Submission).where(Submission.ref == data["ref"]))
    assert stored is not None and stored.status is Status.received
    assert stored.author_name == "Ana" and stored.parent_id is None
    assert stored.email_hash and "ana@example.com" not in (stored.email_hash or "")


def test_post_a_reply_with_notifications(
    client: FlaskClient, thread: Thread, session: Session
) -> None:
    body = {
        **COMMENT,
        "email": "ana@example.com",
        "parent_id": thread.reply.id,
        "notify_replies": True,
    }
    response = post_json(client, "/articles/la-zafra/comments", body)
    assert response.status_code == 201
    stored = session.scalar(select(Submission).where(Submission.ref == response.get_json()["ref"]))
    assert stored is not None
    # A reply to a reply is stored under the top-level comment.
    assert stored.parent_id == thread.first.id
    subscription = session.scalar(
        select(ReplySubscription).where(ReplySubscription.submission_id == stored.id)
    )
    assert subscription is not None
    assert b"ana@example.com" not in subscription.email_sealed


def test_reply_to_a_hidden_comment_is_422(
    client: FlaskClient, thread: Thread, session: Session
) -> None:
    for parent in (thread.removed_reply.id, 99999, 2**40):
        body = {**COMMENT, "parent_id": parent}
        response = post_json(client, "/articles/la-zafra/comments", body)
        assert response.status_code == 422, parent
        assert "parent_id" in response.get_json()["fields"]
    assert [s.id for s in submissions(session) if s.status is Status.received] == []


def test_premoderated_article_says_awaiting_review_in_the_readers_language(
    client: FlaskClient, session: Session
) -> None:
    add_article(session, mode=ModerationMode.pre)
    english = post_json(
        client, "/articles/la-zafra/comments?locale=en", COMMENT, headers={"Accept-Language": "es"}
    )
    assert english.status_code == 201
    assert english.get_json()["state"] == "awaiting_review"
    assert english.get_json()["message"].startswith("Thank you")
    spanish = post_json(
        client, "/articles/la-zafra/comments", COMMENT, headers={"Accept-Language": "es"}
    )
    assert spanish.status_code == 201
    locales = {s.ref: s.locale for s in submissions(session)}
    assert locales[english.get_json()["ref"]] == "en"
    assert locales[spanish.get_json()["ref"]] == "es"


def test_closed_article_refuses_comments(client: FlaskClient, session: Session) -> None:
    add_article(session, mode=ModerationMode.closed)
    response = post_json(client, "/articles/la-zafra/comments?locale=en", COMMENT)
    assert response.status_code == 403
    assert response.get_json()["error"] == "Comments are closed on this article."
    assert submissions(session) == []


def test_unknown_article_refuses_comments(client: FlaskClient) -> None:
    response = post_json(client, "/articles/nada/comments", COMMENT)
    assert response.status_code == 404
    assert response.get_json()["error"]


def test_invalid_comment_gets_the_forms_messages(client: FlaskClient, thread: Thread) -> None:
    body = {"name": "", "email": "no-es-correo", "body": "x" * (limits.BODY[Kind.comment].max + 1)}
    response = post_json(client, "/articles/la-zafra/comments?locale=en", body)
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert fields["name"] == ["Enter the name to show with your comment."]
    assert "email" in fields
    assert fields["body"][0].startswith("Use at most 3000 characters")


@pytest.mark.parametrize(
    "body",
    [
        {"name": 5, "body": "Hola, qué tal"},
        {"name": "Ana", "body": ["Hola"]},
        {"name": "Ana", "body": "Hola, qué tal", "parent_id": "1"},
        {"name": "Ana", "body": "Hola, qué tal", "parent_id": True},
        {"name": "Ana", "body": "Hola, qué tal", "notify_replies": "yes"},
    ],
)
def test_wrong_types_are_422(client: FlaskClient, thread: Thread, body: dict[str, object]) -> None:
    response = post_json(client, "/articles/la-zafra/comments", body)
    assert response.status_code == 422
    assert response.get_json()["fields"]


def test_honeypot_gets_a_decoy_receipt_and_stores_nothing(
    client: FlaskClient, thread: Thread, session: Session
) -> None:
    before = len(submissions(session))
    response = post_json(client, "/articles/la-zafra/comments", {**COMMENT, "topic": "buy"})
    assert response.status_code == 201
    ref = response.get_json()["ref"]
    assert len(submissions(session)) == before
    receipt = get_json(client, f"/receipts/{ref}")
    assert receipt.status_code == 200
    assert receipt.get_json() == {"ref": ref, "state": "checking", "comment": None}


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b'{"name": "Ana"', "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'"texto"', "application/json", 400),
        (b'{"name": "Ana\xff\xfe", "body": "hola"}', "application/json", 400),
        (b"name=Ana&body=hola", "application/x-www-form-urlencoded", 415),
        (b'{"name": "Ana", "body": "hola"}', "text/plain", 415),
        (b"[" * 100_000, "application/json", 400),
    ],
)
def test_malformed_bodies_get_json_errors(
    client: FlaskClient, thread: Thread, data: bytes, content_type: str, status: int
) -> None:
    response = client.post(
        "/api/v1/articles/la-zafra/comments",
        data=data,
        content_type=content_type,
        headers={"Origin": OUTLET},
    )
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.get_json()["error"]


def test_huge_body_is_413_json(client: FlaskClient, thread: Thread) -> None:
    body = {**COMMENT, "body": "x" * (limits.INTAKE_MAX_REQUEST_BYTES + 10)}
    response = post_json(client, "/articles/la-zafra/comments", body)
    assert response.status_code == 413
    assert response.mimetype == "application/json"
    assert response.get_json()["error"]
    assert response.headers["Access-Control-Allow-Origin"] == OUTLET


def test_unknown_paths_and_methods_are_json(client: FlaskClient) -> None:
    missing = get_json(client, "/nothing-here")
    assert missing.status_code == 404 and missing.get_json()["error"]
    wrong = client.delete("/api/v1/counts", headers={"Origin": OUTLET})
    assert wrong.status_code == 405 and wrong.get_json()["error"]
    assert "GET" in wrong.headers["Allow"]


# --- receipts ----------------------------------------------------------------------------------


def test_receipt_shows_the_comment_once_published(
    client: FlaskClient, thread: Thread, session: Session
) -> None:
    response = post_json(client, "/articles/la-zafra/comments", COMMENT)
    ref = response.get_json()["ref"]
    receipt = get_json(client, f"/receipts/{ref}").get_json()
    assert receipt == {"ref": ref, "state": "checking", "comment": None}
    stored = session.scalar(select(Submission).where(Submission.ref == ref))
    assert stored is not None
    stored.status = Status.published
    session.commit()
    published = get_json(client, f"/receipts/{ref.lower()}").get_json()
    assert published["state"] == "published"
    assert published["comment"]["id"] == stored.id
    assert published["comment"]["body"] == COMMENT["body"]
    assert published["comment"]["replies"] == []


def test_receipt_of_a_published_comment_with_replies(
    client: FlaskClient, thread: Thread, session: Session
) -> None:
    session.refresh(thread.first)
    data = get_json(client, f"/receipts/{thread.first.ref}").get_json()
    assert data["comment"]["reply_count"] == 1
    assert [r["id"] for r in data["comment"]["replies"]] == [
        thread.reply.id,
        thread.removed_reply.id,
    ]


def test_unknown_receipt_is_404(client: FlaskClient) -> None:
    assert get_json(client, "/receipts/ABCDEFGHJK").status_code == 404
    assert get_json(client, "/receipts/x").status_code == 404


# --- flags -------------------------------------------------------------------------------------


def test_flag_a_comment_once(client: FlaskClient, thread: Thread, session: Session) -> None:
    path = f"/comments/{thread.second.id}/flags"
    first = post_json(client, path, {"reason": "abuse", "text": "Insulta."})
    assert first.status_code == 202
    assert first.get_json() == {"counted": True}
    again = post_json(client, path, {"reason": "spam"})
    assert again.get_json() == {"counted": False}
    flags = list(session.scalars(select(Flag).where(Flag.submission_id == thread.second.id)))
    assert len(flags) == 1 and flags[0].reason.value == "abuse"
    session.refresh(thread.second)
    assert thread.second.status is Status.reported  # the default threshold is one report


def test_flag_validation_and_404(client: FlaskClient, thread: Thread) -> None:
    bad = post_json(client, f"/comments/{thread.second.id}/flags?locale=en", {"reason": "boring"})
    assert bad.status_code == 422
    assert bad.get_json()["fields"]["reason"] == ["Choose why you are reporting this comment."]
    wrong_type = post_json(client, f"/comments/{thread.second.id}/flags", {"reason": 3})
    assert wrong_type.status_code == 422
    removed = post_json(client, f"/comments/{thread.removed_reply.id}/flags", {"reason": "spam"})
    assert removed.status_code == 404
    assert post_json(client, "/comments/2147483648/flags", {"reason": "spam"}).status_code == 404


def test_api_sets_and_reads_no_cookies(client: FlaskClient, thread: Thread) -> None:
    client.set_cookie("tipline_lang", "en")
    responses = [
        get_json(client, "/articles/la-zafra/comments"),
        post_json(client, "/articles/la-zafra/comments", COMMENT),
        get_json(client, "/counts?key=la-zafra"),
        get_json(client, "/openapi.json"),
        client.options("/api/v1/counts", headers={"Origin": OUTLET}),
    ]
    for response in responses:
        assert "Set-Cookie" not in response.headers, response.request.path
    # The language cookie of the site's switch does not apply to the API: ?locale= and
    # Accept-Language do.
    path = "/comments/99999/flags"
    spanish = post_json(client, path, {"reason": "spam"}, headers={"Accept-Language": "es"})
    assert spanish.get_json()["error"] == "Aquí no hay ningún comentario publicado que denunciar."
    english = post_json(client, path + "?locale=en", {"reason": "spam"})
    assert english.get_json()["error"] == "There is no published comment here to report."
