"""When the database is down: a friendly 503 that asks to try again, never a stack trace."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from core.config import Settings
from tests.intake.helpers import token

NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"


@pytest.fixture
def down_client(settings: Settings) -> FlaskClient:
    """The public site with its database unreachable (nothing listens on port 1)."""
    from intake import create_app

    return create_app(settings.with_overrides(database_url=NOWHERE)).test_client()


# The database URL is replaced, so one backend is enough.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_reading_and_posting_get_a_friendly_503(down_client: FlaskClient) -> None:
    csrf = token(down_client)  # the tip form needs no database
    en = {"Accept-Language": "en"}
    responses = [
        down_client.get("/", headers=en),
        down_client.get("/articles/la-zafra", headers=en),
        down_client.post(
            "/articles/la-zafra",
            data={"csrf_token": csrf, "author_name": "Ana", "body": "Hola"},
            headers=en,
        ),
        down_client.post(
            "/tip", data={"csrf_token": csrf, "text": "Una historia que contar"}, headers=en
        ),
        down_client.get("/receipts/ABCDEFGHJK", headers=en),
    ]
    for response in responses:
        page = response.get_data(as_text=True)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "30"
        assert "Temporarily unavailable" in page and "please try again in a few minutes" in page
        assert "Traceback" not in page and "psycopg" not in page and "127.0.0.1:1" not in page


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_health_check_answers_without_the_database(down_client: FlaskClient) -> None:
    response = down_client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok"
    assert response.mimetype == "text/plain"
