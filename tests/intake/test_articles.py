"""Reading: the article list, an article with its published comments, open and closed threads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.enums import ModerationMode, Status
from tests.intake.helpers import (
    add_article,
    add_comment,
    html,
    post_comment,
    submissions,
    token,
)


def test_home_lists_articles_with_links_and_points_to_the_tip_form(
    intake_client: FlaskClient, session: Session
) -> None:
    add_article(session, slug="la-zafra", title="La zafra que no fue")
    add_article(session, slug="apagones", title="Apagones en Holguín")

    page = html(intake_client.get("/"))

    assert '<a href="/articles/la-zafra">La zafra que no fue</a>' in page
    assert '<a href="/articles/apagones">Apagones en Holguín</a>' in page
    assert 'href="/tip"' in page


def test_article_shows_paragraphs_then_comments_then_the_tip_section(
    intake_client: FlaskClient, session: Session
) -> None:
    article = add_article(session, body="La cosecha cayó.\n\nLos centrales pararon.")
    add_comment(session, article, body="Primera línea\nSegunda línea", name="Ana")

    page = html(intake_client.get("/articles/la-zafra"))

    assert "<h1>La zafra que no fue</h1>" in page
    assert '<p class="article__paragraph">La cosecha cayó.</p>' in page
    assert '<p class="article__paragraph">Los centrales pararon.</p>' in page
    # The reader's line break is kept (the stylesheet shows it), the text is not split up.
    assert '<p class="comment__text">Primera línea\nSegunda línea</p>' in page
    order = [
        page.index("Los centrales pararon."),
        page.index('id="comments-title"'),
        page.index("Primera línea"),
        page.index('id="comment-form"'),
        page.index('id="report-title"'),
    ]
    assert order == sorted(order)
    report = page[page.index('id="report-title"') :]
    assert 'href="/tip"' in report


def test_only_published_comments_are_shown_oldest_first(
    intake_client: FlaskClient, session: Session
) -> None:
    article = add_article(session)
    start = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    add_comment(session, article, body="Segundo en llegar", created_at=start + timedelta(hours=1))
    add_comment(session, article, body="Primero en llegar", created_at=start)
    add_comment(session, article, body="Esperando revisión", status=Status.pending)
    add_comment(session, article, body="Compra relojes replica", status=Status.spam)
    add_comment(session, article, body="Recibido sin revisar", status=Status.received)
    add_comment(session, article, body="Rechazado", status=Status.rejected)

    page = html(intake_client.get("/articles/la-zafra"))

    assert page.index("Primero en llegar") < page.index("Segundo en llegar")
    for hidden in ("Esperando revisión", "relojes replica", "Recibido sin revisar", "Rechazado"):
        assert hidden not in page


def test_comment_dates_follow_the_readers_language(
    intake_client: FlaskClient, session: Session
) -> None:
    article = add_article(session)
    add_comment(session, article, created_at=datetime(2025, 3, 14, 9, 30, tzinfo=UTC))

    spanish = html(intake_client.get("/articles/la-zafra", headers={"Accept-Language": "es"}))
    english = html(intake_client.get("/articles/la-zafra", headers={"Accept-Language": "en"}))

    assert 'datetime="2025-03-14T09:30:00+00:00"' in spanish
    assert "14 mar 2025" in spanish
    assert "Mar 14, 2025" in english


def test_links_in_comments_are_nofollow_and_html_is_inert_text(
    intake_client: FlaskClient, session: Session
) -> None:
    article = add_article(session)
    payload = (
        '<script>alert("x")</script><img src=x onerror=alert(1)> '
        "mira https://example.org/informe?a=1&b=2. y javascript:alert(1)"
    )
    add_comment(session, article, body=payload, name="<b>Mallory</b>")

    page = html(intake_client.get("/articles/la-zafra"))

    assert "<script>alert" not in page and "<img src=x" not in page and "<b>Mallory" not in page
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    )
    assert "&lt;b&gt;Mallory&lt;/b&gt;" in page
    assert (
        '<a href="https://example.org/informe?a=1&amp;b=2" rel="nofollow ugc noopener">'
        "https://example.org/informe?a=1&amp;b=2</a>." in page
    )
    assert 'href="javascript' not in page


def test_email_addresses_are_never_shown(intake_client: FlaskClient, session: Session) -> None:
    add_article(session)
    response = post_comment(intake_client, email="ana.secreta@example.org")
    assert response.status_code == 303

    stored = submissions(session)
    assert len(stored) == 1
    stored[0].status = Status.published  # arranged as if the checks had passed
    session.commit()

    page = html(intake_client.get("/articles/la-zafra"))
    assert "Muy buen reportaje" in page
    assert "ana.secreta" not in page


def test_closed_article_shows_no_form_and_refuses_posts_with_a_message(
    intake_client: FlaskClient, session: Session
) -> None:
    article = add_article(session, mode=ModerationMode.closed)
    add_comment(session, article, body="Comentario de antes del cierre")
    csrf = token(intake_client)  # the closed article's page has no form to take it from

    page = html(intake_client.get("/articles/la-zafra", headers={"Accept-Language": "en"}))
    assert "Comments are closed" in page
    assert "Comentario de antes del cierre" in page
    assert "<form" not in page

    response = intake_client.post(
        "/articles/la-zafra",
        data={"csrf_token": csrf, "author_name": "Ana", "body": "¿Y ahora qué?"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 403
    assert "Comments are closed on this article." in html(response)
    assert len(submissions(session)) == 1  # only the comment arranged above


def test_premoderated_article_says_comments_are_reviewed_first(
    intake_client: FlaskClient, session: Session
) -> None:
    add_article(session, mode=ModerationMode.pre)
    page = html(intake_client.get("/articles/la-zafra", headers={"Accept-Language": "en"}))
    assert "reviewed by a moderator before they appear" in page
    add_article(session, slug="abierto")
    page = html(intake_client.get("/articles/abierto", headers={"Accept-Language": "en"}))
    assert "reviewed by a moderator" not in page


def test_unknown_article_is_a_404_page(intake_client: FlaskClient, session: Session) -> None:
    response = intake_client.get("/articles/no-existe", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "Page not found" in html(response)
    response = intake_client.post(
        "/articles/no-existe",
        data={"csrf_token": token(intake_client), "author_name": "A", "body": "Hola"},
    )
    assert response.status_code == 404
