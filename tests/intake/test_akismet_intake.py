"""What the public site keeps for Akismet: nothing unless a key is set, and then only sealed."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.config import Settings
from core.crypto import unseal
from core.models import Submission
from tests.intake.helpers import add_article, post_comment, post_tip, submissions

IP = "203.0.113.7"
AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
REFERRER = "https://periodico.example/2025/la-zafra"
HEADERS = {"User-Agent": AGENT, "Referer": REFERRER}


def _reader(settings: Settings, address: str = IP) -> FlaskClient:
    from intake import create_app

    client = create_app(settings).test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _raw_values(submission: Submission) -> list[bytes]:
    values = (getattr(submission, c.key) for c in Submission.__table__.columns)
    return [v if isinstance(v, bytes) else str(v).encode() for v in values if v is not None]


def test_without_a_key_nothing_is_kept_for_akismet(
    quiet_settings: Settings, session: Session
) -> None:
    add_article(session)
    assert post_comment(_reader(quiet_settings), headers=HEADERS).status_code == 303

    (comment,) = submissions(session)
    assert comment.sender_copy is None and comment.akismet_reported is None


def test_with_a_key_the_senders_details_are_sealed_for_the_worker(
    quiet_settings: Settings, session: Session
) -> None:
    settings = quiet_settings.with_overrides(
        akismet_key="k", intake_url="https://comentarios.example"
    )
    add_article(session)
    assert post_comment(_reader(settings), headers=HEADERS).status_code == 303

    (comment,) = submissions(session)
    assert comment.sender_copy is not None
    assert unseal(settings.worker_private_key, comment.sender_copy) == {
        "user_ip": IP,
        "user_agent": AGENT,
        "referrer": REFERRER,
        "permalink": "https://comentarios.example/articles/la-zafra",
    }
    # Sealed: the address, the browser and the referrer appear nowhere in the row.
    for secret in (IP, AGENT, REFERRER):
        assert not [v for v in _raw_values(comment) if secret.encode() in v], secret


def test_behind_a_trusted_proxy_the_readers_address_is_the_one_the_proxy_saw(
    quiet_settings: Settings, session: Session
) -> None:
    add_article(session)
    forwarded = {**HEADERS, "X-Forwarded-For": "198.51.100.23"}
    trusting = quiet_settings.with_overrides(akismet_key="k", trusted_proxies=1)
    untrusting = quiet_settings.with_overrides(akismet_key="k")
    post_comment(_reader(trusting, address="10.0.0.2"), headers=forwarded)
    post_comment(_reader(untrusting, address="10.0.0.2"), headers=forwarded)

    first, second = submissions(session)
    assert first.sender_copy is not None and second.sender_copy is not None
    key = quiet_settings.worker_private_key
    assert unseal(key, first.sender_copy)["user_ip"] == "198.51.100.23"
    # Without trusted proxies a forged header changes nothing.
    assert unseal(key, second.sender_copy)["user_ip"] == "10.0.0.2"


def test_tips_keep_nothing_for_akismet_even_with_a_key(
    quiet_settings: Settings, session: Session
) -> None:
    settings = quiet_settings.with_overrides(akismet_key="k")
    assert post_tip(_reader(settings), headers=HEADERS).status_code == 303

    (tip,) = submissions(session)
    assert tip.sender_copy is None
    assert not [v for v in _raw_values(tip) if IP.encode() in v]
