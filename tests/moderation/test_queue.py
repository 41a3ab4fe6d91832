"""The comment queue: tabs and counts, order, check reasons, pages, inert user content."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from core.db import utcnow
from core.enums import Status, Verdict
from core.models import CheckResult, StaffUser, Submission
from moderation.display import check_reason
from moderation.review import PER_PAGE
from tests.moderation.conftest import login, tab_count

MakeComment = Callable[..., Submission]


def _order(html: str, bodies: list[str]) -> list[str]:
    return sorted(bodies, key=html.index)


def test_root_opens_the_pending_queue(client: FlaskClient, moderator: StaffUser) -> None:
    login(client, "mod@example.org")
    response = client.get("/")
    assert response.status_code == 302 and response.location == "/queue?status=pending"


def test_pending_is_oldest_first_with_counts_per_tab(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment
) -> None:
    make_comment("middle one", minutes_ago=30)
    make_comment("newest one", minutes_ago=5)
    make_comment("oldest one", minutes_ago=120)
    make_comment("a spam one", Status.spam)
    make_comment("a published one", Status.published)
    make_comment("a reported one", Status.reported)
    login(client, "mod@example.org")

    html = client.get("/queue").text
    assert _order(html, ["newest one", "oldest one", "middle one"]) == [
        "oldest one",
        "middle one",
        "newest one",
    ]
    assert "a spam one" not in html and "a published one" not in html
    counts = {
        s: tab_count(html, s) for s in ("pending", "reported", "spam", "published", "rejected")
    }
    assert counts == {"pending": 3, "reported": 1, "spam": 1, "published": 1, "rejected": 0}
    assert "2 hours ago" in html and "5 minutes ago" in html

    newest_first = client.get("/queue?status=pending&order=newest").text
    assert _order(newest_first, ["oldest one", "newest one"]) == ["newest one", "oldest one"]

    reported = client.get("/queue?status=reported").text
    assert "a reported one" in reported and "oldest one" not in reported


def test_rows_show_article_name_and_each_checks_reason(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment
) -> None:
    make_comment(
        "Compra aquí http://a.example http://b.example http://c.example",
        name="Pepe",
        check=(Verdict.suspect, "%(count)d links (at most %(limit)d)", {"count": 3, "limit": 2}),
    )
    login(client, "mod@example.org")
    html = client.get("/queue").text
    assert "Comment by Pepe" in html
    assert "Apagones en La Habana" in html
    assert "3 links (at most 2)" in html
    assert "Suspect" in html
    # Links in a comment are shown as text, never as links.
    assert 'href="http://a.example' not in html


def test_a_reason_that_does_not_format_is_shown_as_stored(moderation_app: Flask) -> None:
    result = CheckResult(name="x", reason="%(count)d links", reason_params={})
    with moderation_app.test_request_context():
        assert check_reason(result) == "%(count)d links"
        result.reason_params = {"count": 4}
        assert check_reason(result) == "4 links"


def test_long_comments_are_truncated_in_the_queue_and_whole_on_their_page(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment
) -> None:
    body = "palabra " * 100 + "FINAL"
    submission = make_comment(body)
    login(client, "mod@example.org")
    queue = client.get("/queue").text
    assert "FINAL" not in queue and "Read the whole comment" in queue
    assert "FINAL" in client.get(f"/submissions/{submission.id}").text


def test_pages_follow_the_key_not_an_offset(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment
) -> None:
    start = utcnow() - timedelta(days=1)
    # Pairs of comments share a timestamp, so the id has to break the tie.
    made = [
        make_comment(f"comment number {i:03d}.", at=start + timedelta(seconds=i // 2))
        for i in range(PER_PAGE + 5)
    ]
    login(client, "mod@example.org")

    first = client.get("/queue").text
    on_first = [s for s in made if f"number {s.body[15:18]}." in first]
    assert on_first == made[:PER_PAGE]
    next_link = re.search(r'href="([^"]+)" rel="next"', first)
    assert next_link
    next_url = next_link.group(1).replace("&amp;", "&")

    # Deciding comments of the first page does not make the second page skip any.
    token = re.search(r'name="csrf_token" value="([^"]+)"', first).group(1)  # type: ignore[union-attr]
    for submission in made[:10]:
        response = client.post(
            f"/submissions/{submission.id}/status",
            data={"csrf_token": token, "to": "published", "version": "1", "next": "/queue"},
        )
        assert response.status_code == 303

    second = client.get(next_url).text
    on_second = [s for s in made if f"number {s.body[15:18]}." in second]
    assert on_second == made[PER_PAGE:]
    assert 'rel="next"' not in second
    assert "First page" in second


def test_html_in_a_comment_is_inert_in_the_queue_and_on_its_page(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment
) -> None:
    submission = make_comment(
        "<script>alert(1)</script> and <img src=x onerror=alert(2)>",
        name='<img src=x onerror="alert(3)">',
    )
    login(client, "mod@example.org")
    for path in ("/queue", f"/submissions/{submission.id}"):
        html = client.get(path).text
        assert "<script>alert(1)" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "&lt;img src=x onerror=alert(2)&gt;" in html
        assert "onerror=&#34;alert(3)&#34;" in html


def test_empty_tab_says_so(client: FlaskClient, moderator: StaffUser) -> None:
    login(client, "mod@example.org")
    assert "Nothing here." in client.get("/queue?status=rejected").text
    # An unknown tab falls back to the pending queue rather than failing.
    assert client.get("/queue?status=bogus").status_code == 200
