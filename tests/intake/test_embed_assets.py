"""The embed's assets: its script, stylesheet and messages, as an outlet's page loads them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core import site_settings
from intake.api_access import ORIGINS_EXTENSION

SCRIPT = Path(__file__).resolve().parents[2] / "intake" / "static" / "embed" / "embed.js"
OUTLET = "https://www.periodico.example"


def used_ids() -> set[str]:
    """The message ids embed.js looks up.

    Every quoted id in the arguments of t(...), tn(...) and of the two helpers that pass a
    fallback id on (problemText, failureText); and the ids built from a list: order_* and
    reason_*.
    """
    source = SCRIPT.read_text(encoding="utf-8")
    ids: set[str] = set()
    for arguments in re.findall(r"\b(?:tn?|problemText|failureText)\(([^()]*)\)", source):
        ids |= set(re.findall(r'"([a-z_]+)"', arguments))
    orders = re.search(r"\[([^\]]*)\]\.map\(\(value\) => h\(\"option\"", source)
    reasons = re.search(r"const REASONS = \[([^\]]*)\]", source)
    assert orders is not None and reasons is not None
    ids |= {f"order_{value}" for value in re.findall(r'"([a-z_]+)"', orders.group(1))}
    ids |= {f"reason_{value}" for value in re.findall(r'"([a-z_]+)"', reasons.group(1))}
    return ids


@pytest.mark.parametrize(
    ("path", "mimetype"), [("/embed.js", "text/javascript"), ("/embed.css", "text/css")]
)
def test_script_and_stylesheet_are_served_cacheable_to_any_site(
    intake_client: FlaskClient, path: str, mimetype: str
) -> None:
    response = intake_client.get(path, headers={"Origin": OUTLET})
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.cache_control.public
    assert response.cache_control.max_age == 300
    assert "Set-Cookie" not in response.headers
    assert len(response.data) > 1000


def test_the_script_runs_under_a_strict_policy() -> None:
    source = SCRIPT.read_text(encoding="utf-8")
    # No eval in any form, no inline style or handlers written into markup.
    for forbidden in ("eval(", "new Function", 'setTimeout("', "style=", ".style.", "onclick="):
        assert forbidden not in source, forbidden
    # innerHTML only once: the API's body_html, parsed in an inert template and filtered.
    assert source.count("innerHTML") == 1
    assert "template.innerHTML = html" in source
    # The script finds where it came from before anything asynchronous happens.
    first_await = re.search(r"\bawait [\w(]", source)
    assert first_await is not None
    assert source.index("= document.currentScript;") < first_await.start()
    for storage in ("localStorage", "document.cookie"):
        assert storage not in source


def test_messages_in_both_languages_cover_every_id_the_script_uses(
    intake_client: FlaskClient,
) -> None:
    ids = used_ids()
    assert {
        "count",
        "closed",
        "reply_removed",
        "error_load",
        "reason_off_topic",
        "order_replies",
    } <= ids
    catalogs = {}
    for locale in ("es", "en"):
        response = intake_client.get(f"/embed/messages.json?locale={locale}")
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.cache_control.public and response.cache_control.max_age == 300
        body = response.get_json()
        assert body["locale"] == locale
        missing = ids - set(body["messages"])
        assert not missing, f"{locale} lacks {sorted(missing)}"
        unused = set(body["messages"]) - ids
        assert not unused, f"messages the script never shows: {sorted(unused)}"
        catalogs[locale] = body["messages"]
    es, en = catalogs["es"], catalogs["en"]
    assert en["closed"] == "Comments are closed."
    assert es["closed"] != en["closed"]
    assert en["count"] == {"one": "{n} comment", "other": "{n} comments"}
    assert es["count"]["other"] != en["count"]["other"]
    assert "{n}" in es["count"]["one"] and "{n}" in es["count"]["other"]
    # Most words differ between the languages (a few, like "Spam", may not).
    same = [key for key in ids if key != "count" and es[key] == en[key]]
    assert len(same) <= 2, same


def test_messages_fall_back_to_the_readers_language(intake_client: FlaskClient) -> None:
    asked = intake_client.get("/embed/messages.json?locale=fr", headers={"Accept-Language": "en"})
    assert asked.get_json()["locale"] == "en"
    default = intake_client.get("/embed/messages.json")
    assert default.get_json()["locale"] == "es"
    assert "Accept-Language" in default.headers["Vary"]


def test_messages_say_whether_the_asking_site_may_embed(
    intake_client: FlaskClient, session: Session
) -> None:
    site_settings.save(session, None, "test", embed_origins=OUTLET)
    intake_client.application.extensions[ORIGINS_EXTENSION].forget()

    def allowed(origin: str | None) -> bool:
        headers = {"Origin": origin} if origin else {}
        response = intake_client.get("/embed/messages.json?locale=es", headers=headers)
        assert "Origin" in response.headers["Vary"]
        value: bool = response.get_json()["embedding_allowed"]
        return value

    assert allowed(OUTLET)
    assert allowed(None)
    assert not allowed("https://copycat.example")
    assert not allowed("null")
