"""The language switch remembers the choice and never redirects off the site."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
    ],
)
def test_the_switch_refuses_to_send_readers_elsewhere(
    intake_client: FlaskClient, target: str
) -> None:
    response = intake_client.get("/language/en", query_string={"next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_switch_sets_the_cookie_and_returns_to_the_page(intake_client: FlaskClient) -> None:
    response = intake_client.get("/language/en", query_string={"next": "/tip?x=1"})
    assert response.headers["Location"] == "/tip?x=1"
    assert "tipline_lang=en" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    # An unknown language changes nothing but still goes back.
    unknown = intake_client.get("/language/xx", query_string={"next": "/tip"})
    assert unknown.headers["Location"] == "/tip" and "Set-Cookie" not in unknown.headers


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_both_sites_answer_healthz_without_login(
    intake_client: FlaskClient, moderation_client: FlaskClient
) -> None:
    for client in (intake_client, moderation_client):
        response = client.get("/healthz")
        assert (response.status_code, response.text) == (200, "ok")
