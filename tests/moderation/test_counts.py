"""The queues' live counts: /counts.json, the "All" tab, and counts under racing decisions."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from core.enums import Role, Status
from core.models import StaffUser, Submission
from moderation.review import PER_PAGE
from tests.moderation.conftest import login, new_client, tab_count, token_from

MakeComment = Callable[..., Submission]
COMMENT_TABS = ("pending", "reported", "spam", "published", "rejected", "all")


def _counts(client: FlaskClient) -> dict[str, dict[str, int]]:
    response = client.get("/counts.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    counts: dict[str, dict[str, int]] = response.get_json()
    return counts


def test_counts_match_the_rows_and_follow_decisions(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment
) -> None:
    first = make_comment("uno")
    make_comment("dos")
    make_comment("tres", Status.spam)
    make_comment("cuatro", Status.reported)
    make_comment("cinco", Status.received)  # still being checked: in no tab, not even "All"
    login(client, "mod@example.org")

    counts = _counts(client)
    # Tips are for editors: a moderator is not even told how many there are.
    assert set(counts) == {"comment"}
    assert counts["comment"] == {
        "pending": 2,
        "reported": 1,
        "spam": 1,
        "published": 0,
        "rejected": 0,
        "all": 4,
    }
    # The page's tabs show the same figures.
    html = client.get("/queue").text
    assert {tab: tab_count(html, tab) for tab in COMMENT_TABS} == counts["comment"]

    token = token_from(client, f"/submissions/{first.id}")
    response = client.post(
        f"/submissions/{first.id}/status",
        data={"csrf_token": token, "to": "published", "version": "1", "next": "/queue"},
    )
    assert response.status_code == 303
    after = _counts(client)["comment"]
    assert after["pending"] == 1 and after["published"] == 1 and after["all"] == 4


def test_editors_get_tip_counts_too(
    client: FlaskClient, make_staff: Callable[..., StaffUser]
) -> None:
    make_staff("ed@example.org", Role.editor)
    login(client, "ed@example.org")
    counts = _counts(client)
    assert counts["tip"] == {"new": 0, "in_progress": 0, "followed_up": 0, "closed": 0, "spam": 0}
    assert counts["comment"]["all"] == 0


def test_anonymous_visitors_are_sent_to_log_in_not_given_counts(
    client: FlaskClient, make_comment: MakeComment
) -> None:
    make_comment("uno")
    response = client.get("/counts.json")
    assert response.status_code == 303
    assert response.location.startswith("/login")
    assert response.mimetype != "application/json"


def test_the_all_tab_lists_every_status_but_received_a_page_at_a_time(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment
) -> None:
    for status in (Status.pending, Status.reported, Status.spam, Status.published):
        make_comment(f"comentario {status.value}", status)
    make_comment("comentario rejected", Status.rejected, minutes_ago=60)
    make_comment("comentario received", Status.received)
    login(client, "mod@example.org")

    html = client.get("/queue?status=all").text
    assert "Comments: All" in html
    for tab in ("pending", "reported", "spam", "published", "rejected"):
        assert f"comentario {tab}" in html
    assert "comentario received" not in html
    # Browsed newest first, like the other decided tabs.
    assert html.index("comentario published") < html.index("comentario rejected")
    assert 'aria-current="page"' in html.split("status=all")[1].split("</a>")[0]
    assert tab_count(html, "all") == 5


def test_the_all_tab_pages_by_key(
    client: FlaskClient, moderator: StaffUser, make_comment: MakeComment
) -> None:
    for i in range(PER_PAGE + 2):
        make_comment(f"número {i:03d}.", minutes_ago=i)
    login(client, "mod@example.org")
    first = client.get("/queue?status=all").text
    assert "número 000." in first and f"número {PER_PAGE:03d}." not in first
    next_link = re.search(r'href="([^"]+)" rel="next"', first)
    assert next_link and "status=all" in next_link.group(1)
    second = client.get(next_link.group(1).replace("&amp;", "&")).text
    assert f"número {PER_PAGE:03d}." in second and f"número {PER_PAGE + 1:03d}." in second
    assert "número 000." not in second


def test_counts_stay_consistent_when_two_moderators_race(
    moderation_app: Flask, make_staff: Callable[..., StaffUser], make_comment: MakeComment
) -> None:
    make_staff("ana@example.org")
    make_staff("luis@example.org")
    submission = make_comment("¿Quién gana?")
    make_comment("otro que espera")
    clients = [new_client(moderation_app), new_client(moderation_app)]
    login(clients[0], "ana@example.org")
    login(clients[1], "luis@example.org")
    path = f"/submissions/{submission.id}"
    tokens = [token_from(c, path) for c in clients]
    targets = ["published", "rejected"]
    responses: list[TestResponse | None] = [None, None]
    start = threading.Barrier(2)

    def decide(i: int) -> None:
        start.wait()
        responses[i] = clients[i].post(
            f"{path}/status",
            data={"csrf_token": tokens[i], "to": targets[i], "version": "1", "next": "/queue"},
        )

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    codes = sorted(r.status_code for r in responses if r is not None)
    assert codes == [303, 409]
    for client in clients:
        counts = _counts(client)["comment"]
        assert all(n >= 0 for n in counts.values())
        assert counts["pending"] == 1
        assert counts["published"] + counts["rejected"] == 1
        assert counts["all"] == 2
        assert counts["all"] == sum(n for tab, n in counts.items() if tab != "all")
