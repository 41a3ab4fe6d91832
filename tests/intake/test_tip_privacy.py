"""Nothing about the tipster: headers on every tip page; no address, agent or referrer kept."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core.config import Settings
from core.db import Base
from tests.intake.helpers import TIP, html, post_tip, submissions
from tests.support import csrf_token, new_queue_name
from tests.support_tips import make_editor_with_tip_key

# Documentation addresses (RFC 5737): the proxy's view of the client, and the peer itself.
CLIENT_ADDRESS = "203.0.113.77"
PEER_ADDRESS = "198.51.100.23"
USER_AGENT = "Mozilla/5.0 (canary-agent-5b1e) Gecko/20100101"
REFERRER = "https://canary-referrer-9d2c.example/articulo?id=4471"
SENDER = {
    "X-Forwarded-For": CLIENT_ADDRESS,
    "User-Agent": USER_AGENT,
    "Referer": REFERRER,
    "Accept-Language": "en",
}
SECRETS = (CLIENT_ADDRESS, PEER_ADDRESS, "canary-agent-5b1e", "canary-referrer-9d2c")


@pytest.fixture
def proxied_settings(settings: Settings) -> Iterator[Settings]:
    """Behind one trusted proxy, so the app sees the X-Forwarded-For address as the client's."""
    proxied = settings.with_overrides(trusted_proxies=1, task_queue=new_queue_name())
    yield proxied
    redis.Redis.from_url(settings.broker_url).delete(proxied.task_queue)


@pytest.fixture
def app(proxied_settings: Settings, session: Session) -> Flask:
    """The public site behind a proxy, with a tip key set up."""
    from intake import create_app

    make_editor_with_tip_key(session)
    return create_app(proxied_settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser coming through the proxy from a known address."""
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = PEER_ADDRESS
    return browser


def _assert_private_headers(response: TestResponse, what: str) -> None:
    assert response.headers.get("Referrer-Policy") == "no-referrer", what
    assert response.headers.get("Cache-Control") == "no-store", what
    policy = response.headers.get("Content-Security-Policy", "")
    directives = dict(
        [*part.split(" ", 1), ""][:2] for part in (p.strip() for p in policy.split(";")) if part
    )
    assert directives.get("default-src") == "'self'", what
    assert directives.get("script-src") == "'self'", what
    assert directives.get("form-action") == "'self'", what
    assert directives.get("frame-ancestors") == "'none'", what
    # No third party anywhere in the policy: only our own origin (and inline images as data:).
    assert "http" not in policy and "*" not in policy, what


def test_every_tip_page_sends_no_referrer_no_caching_and_a_strict_policy(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    form = client.get("/tip", headers=SENDER)
    token = csrf_token(html(form))
    responses = {
        "form": form,
        "sent": client.post(
            "/tip", data={"csrf_token": token, "text": TIP, "contact": "", "name": ""}
        ),
        "invalid": client.post("/tip", data={"csrf_token": token, "text": "corto"}),
        "no token": client.post("/tip", data={"text": TIP}),
    }
    assert responses["sent"].status_code == 303
    responses["receipt"] = client.get(responses["sent"].headers["Location"])
    # And whatever else lives under /tip (a source coming back with a codename, say).
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/tip/") or rule.arguments:
            continue
        if "GET" in (rule.methods or ()):
            responses[f"GET {rule.rule}"] = client.get(rule.rule)
        if "POST" in (rule.methods or ()):
            responses[f"POST {rule.rule}"] = client.post(rule.rule, data={})
    for what, response in responses.items():
        assert response.status_code < 500, what
        _assert_private_headers(response, what)


def test_the_form_advises_sources_before_they_send(client: FlaskClient) -> None:
    page = html(client.get("/tip", headers={"Accept-Language": "en"}))
    advice = page[page.index("Before you write: protect yourself") : page.index("<form")]
    for words in ("not your employer", "Tor Browser", "metadata", "Do not tell anyone"):
        assert words in advice, words


def test_tip_pages_load_nothing_from_elsewhere(client: FlaskClient) -> None:
    page = html(client.get("/tip"))
    for attribute in ("src=", "href="):
        for part in page.split(attribute)[1:]:
            url = part[1 : part.index(part[0], 1)]
            # Relative links only: fonts, styles, images and scripts all come from this site.
            assert not url.startswith(("http:", "https:", "//")), url
    assert "@import" not in page and "url(http" not in page


def _database_text(engine: Engine) -> bytes:
    # Every row of every table, text and bytes alike, as one blob to search.
    blob = bytearray()
    with Session(engine) as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                for value in row:
                    blob += value if isinstance(value, bytes) else str(value).encode()
                    blob += b"\x00"
    return bytes(blob)


def redis_text(url: str, pattern: str) -> bytes:
    """Every key matching `pattern` in the Redis at `url`, with its value, as one blob."""
    client = redis.Redis.from_url(url)
    blob = bytearray()
    for key in client.scan_iter(pattern):
        blob += key + b"\x00"
        kind = client.type(key)
        values: Any
        if kind == b"string":
            values = [client.get(key) or b""]
        elif kind == b"hash":
            values = [b"".join(pair) for pair in client.hgetall(key).items()]  # type: ignore[union-attr]
        elif kind == b"list":
            values = client.lrange(key, 0, -1)
        elif kind == b"set":
            values = client.smembers(key)
        elif kind == b"zset":
            values = client.zrange(key, 0, -1)
        else:
            values = [client.dump(key) or b""]
        blob += b"\x00".join(values) + b"\x00"
    return bytes(blob)


def test_no_address_agent_or_referrer_is_stored_logged_or_counted_in_the_clear(
    client: FlaskClient,
    proxied_settings: Settings,
    engine: Engine,
    session: Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    assert post_tip(client, headers=SENDER, contact="fuente@example.org").status_code == 303
    assert post_tip(client, headers=SENDER, text="corto").status_code == 422
    # Coming back with a wrong codename: counted per network, by its keyed hash.
    back = csrf_token(html(client.get("/tip/return", headers=SENDER)))
    wrong = {"csrf_token": back, "codename": "uno dos tres cuatro cinco seis siete"}
    assert client.post("/tip/return", data=wrong, headers=SENDER).status_code < 500
    [tip] = submissions(session)
    assert tip.ip_hash is None

    stored = _database_text(engine)
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.__dict__!r}" for record in caplog.records
    )
    counted = redis_text(proxied_settings.broker_url, f"*{proxied_settings.ratelimit_prefix}*")
    assert counted, "the rate limit counted the POSTs under its prefix"
    for secret in SECRETS:
        assert secret.encode() not in stored, secret
        assert secret not in logged, secret
        assert secret.encode() not in counted, secret
