"""Bad input: forged or missing tokens, bots, oversized and malformed bodies, floods."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core import limits
from core.config import Settings
from core.enums import Kind
from core.privacy import ip_hash
from tests.intake.helpers import (
    add_article,
    html,
    post_comment,
    post_tip,
    submissions,
    token,
)

EN = {"Accept-Language": "en"}


def test_a_missing_or_wrong_csrf_token_gets_the_400_page_that_says_so(
    intake_client: FlaskClient, session: Session
) -> None:
    add_article(session)
    intake_client.get("/articles/la-zafra")  # a session exists; the token is what is wrong
    # Valid for either form, so only the token can be why they are refused.
    fields = {"author_name": "Ana", "body": "Un comentario", "text": "Una historia que contar"}
    for data in (fields, {**fields, "csrf_token": "forged"}):
        for path in ("/articles/la-zafra", "/tip"):
            response = intake_client.post(path, data=data, headers=EN)
            assert response.status_code == 400
            assert "security token is missing or has expired" in html(response)
    # A token from another browser's session is wrong too.
    other = intake_client.application.test_client()
    stolen = token(other)
    response = intake_client.post("/tip", data={"csrf_token": stolen, "text": "x" * 20})
    assert response.status_code == 400
    assert submissions(session) == []


def test_a_filled_honeypot_gets_a_normal_receipt_and_nothing_is_stored(
    quiet_client: FlaskClient, session: Session
) -> None:
    add_article(session)

    bot = post_comment(quiet_client, topic="https://spam.example", headers=EN)
    bot_tip = post_tip(quiet_client, topic="cheap pills", headers=EN)

    assert bot.status_code == bot_tip.status_code == 303
    assert submissions(session) == []
    # The bot's receipt cannot be told from a person's whose comment is being checked.
    person = post_comment(quiet_client, headers=EN)
    assert person.status_code == 303
    pages = []
    for response in (bot, person):
        location = response.headers["Location"]
        ref = location.rsplit("/", 1)[1].removesuffix("#main")
        receipt = quiet_client.get(location, headers=EN)
        assert receipt.status_code == 200
        pages.append(html(receipt).replace(ref, "REF"))
    assert pages[0] == pages[1]
    assert "your comment was received" in pages[0]
    tip_receipt = quiet_client.get(bot_tip.headers["Location"], headers=EN)
    assert "your tip was received" in html(tip_receipt)
    assert len(submissions(session)) == 1  # the person's


def test_the_honeypot_is_hidden_by_the_stylesheet_and_out_of_the_tab_order(
    intake_client: FlaskClient, session: Session
) -> None:
    add_article(session)
    for path in ("/articles/la-zafra", "/tip"):
        page = html(intake_client.get(path))
        block = page[
            page.index('<div class="hp">') : page.index("</div>", page.index('class="hp"'))
        ]
        assert '<label for="topic">' in block
        assert 'tabindex="-1"' in block and 'autocomplete="off"' in block
    css = intake_client.get("/static/intake.css").get_data(as_text=True)
    assert ".hp { display: none !important; }" in css


def test_a_one_megabyte_post_gets_the_413_page(
    intake_client: FlaskClient, session: Session
) -> None:
    add_article(session)
    csrf = token(intake_client)
    huge = "x" * 1_000_000
    for path in ("/tip", "/articles/la-zafra"):
        response = intake_client.post(path, data={"csrf_token": csrf, "text": huge}, headers=EN)
        assert response.status_code == 413
        assert "larger than we accept" in html(response)
    assert submissions(session) == []


def test_the_longest_tip_in_multibyte_text_still_fits_the_request_limit(
    quiet_client: FlaskClient, session: Session
) -> None:
    # Form encoding triples non-ASCII characters; the longest legal tip must still get in.
    longest = "ñ" * limits.BODY[Kind.tip].max
    assert len(quote(longest)) < limits.INTAKE_MAX_REQUEST_BYTES
    assert post_tip(quiet_client, text=longest).status_code == 303


def test_nul_and_control_characters_are_removed(
    quiet_client: FlaskClient, session: Session
) -> None:
    add_article(session)
    response = post_comment(
        quiet_client, author_name="A\x00na\x1b[31m\nPérez", body="Ho\x00la\x07 mundo\r\nadiós\tfin"
    )
    assert response.status_code == 303
    [comment] = submissions(session)
    assert comment.author_name == "Ana[31m Pérez"
    assert comment.body == "Hola mundo\nadiós\tfin"


def test_zero_width_and_bidi_override_characters_are_removed(
    quiet_client: FlaskClient, session: Session
) -> None:
    add_article(session)
    response = post_comment(
        quiet_client,
        author_name="\u202eanA",
        body="vi\u200bag\u200dra y re\ufeffcargas \u2067abc\u2069 \u202efdp.exe",
    )
    assert response.status_code == 303
    [comment] = submissions(session)
    assert comment.author_name == "anA"
    assert comment.body == "viagra y recargas abc fdp.exe"


def test_text_is_stored_in_composed_unicode(quiet_client: FlaskClient, session: Session) -> None:
    add_article(session)
    assert post_comment(quiet_client, body="Cafe\u0301 con az\u00facar").status_code == 303
    assert submissions(session)[0].body == "Café con azúcar"


def test_invalid_utf8_is_refused_with_a_message_by_the_field(
    quiet_client: FlaskClient, session: Session
) -> None:
    add_article(session)
    csrf = token(quiet_client, "/articles/la-zafra").encode()
    bodies = [
        # raw bytes that are not UTF-8
        b"csrf_token=" + csrf + b"&author_name=Ana&body=Hola+\xff\xfe+mundo",
        # the same, percent-encoded
        b"csrf_token=" + csrf + b"&author_name=Ana&body=Hola+%FF%FE+mundo",
    ]
    for body in bodies:
        response = quiet_client.post(
            "/articles/la-zafra",
            data=body,
            content_type="application/x-www-form-urlencoded",
            headers=EN,
        )
        page = html(response)
        assert response.status_code == 422
        assert "contains characters that could not be read" in page
        assert 'id="body-error"' in page
    # In a tip's optional field too.
    response = quiet_client.post(
        "/tip",
        data=b"csrf_token=" + csrf + b"&text=Una+historia+larga+de+verdad&contact=\xc3\x28",
        content_type="application/x-www-form-urlencoded",
        headers=EN,
    )
    assert response.status_code == 422
    assert 'id="contact-error"' in html(response)
    assert submissions(session) == []


def test_invalid_utf8_in_a_multipart_body_is_refused_too(
    quiet_client: FlaskClient, session: Session
) -> None:
    add_article(session)
    csrf = token(quiet_client, "/articles/la-zafra")
    boundary = "XyZ"
    parts = [
        (b"csrf_token", csrf.encode()),
        (b"author_name", b"Ana"),
        (b"body", b"Hola \xff mundo"),
    ]
    body = b"".join(
        b'--XyZ\r\nContent-Disposition: form-data; name="' + name + b'"\r\n\r\n' + value + b"\r\n"
        for name, value in parts
    )
    response = quiet_client.post(
        "/articles/la-zafra",
        data=body + b"--XyZ--\r\n",
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=EN,
    )
    assert response.status_code == 422
    assert "contains characters that could not be read" in html(response)


def test_a_burst_beyond_the_limit_gets_429_with_retry_after(
    settings: Settings, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    from intake import create_app

    client = create_app(settings.with_overrides(submit_rate_limit="3 per minute")).test_client()
    add_article(session)

    # One allowance for every form together: comments and tips count against the same limit.
    first = post_comment(client)
    assert first.status_code == 303
    assert "Retry-After" not in first.headers  # only a refusal says when to come back
    assert post_tip(client).status_code == 303
    assert post_comment(client).status_code == 303
    refused = post_tip(client, headers=EN)

    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert "You have sent too much in a short time" in html(refused)
    assert len(submissions(session)) == 3
    # Reading is never limited.
    assert client.get("/articles/la-zafra").status_code == 200
    # Nothing identifying the sender (not even their hash) is logged.
    sender = ip_hash(settings.hash_key, "127.0.0.1")
    assert not [r for r in caplog.records if sender in r.getMessage()]


def test_rate_limits_count_per_network_not_per_client(settings: Settings, session: Session) -> None:
    from intake import create_app

    app = create_app(settings.with_overrides(submit_rate_limit="1 per minute"))
    add_article(session)
    here, there = app.test_client(), app.test_client()
    assert post_tip(here).status_code == 303
    assert post_tip(here).status_code == 429
    elsewhere = {"REMOTE_ADDR": "203.0.113.9"}
    csrf = token(there)
    response = there.post(
        "/tip", data={"csrf_token": csrf, "text": "Una historia larga"}, environ_base=elsewhere
    )
    assert response.status_code == 303


def test_a_rate_limit_store_outage_never_blocks_readers(
    settings: Settings, session: Session
) -> None:
    from intake import create_app

    down = settings.with_overrides(
        ratelimit_storage_url="redis://127.0.0.1:1/0", submit_rate_limit="2 per minute"
    )
    client = create_app(down).test_client()
    add_article(session)

    assert post_comment(client).status_code == 303
    assert post_tip(client).status_code == 303
    # Meanwhile the limit is still kept, in the process's memory.
    assert post_tip(client).status_code == 429
    assert len(submissions(session)) == 2
