"""Webhook signatures: what the outlet's receiver checks, as the spec gives the header."""

from __future__ import annotations

import hashlib
import hmac

from core.webhook_signing import sign, verify

SECRET = "whsec_test"
BODY = b'{"id":1,"event":"comment.published"}'
NOW = 1_800_000_000


def test_the_header_is_the_hmac_of_the_timestamp_and_the_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == f"t={NOW},v1={expected}"


def test_a_fresh_signature_verifies() -> None:
    header = sign(SECRET, NOW, BODY)
    assert verify(SECRET, header, BODY, now=NOW + 10)
    assert verify(SECRET.encode(), header, BODY, now=NOW - 10)


def test_a_changed_body_secret_or_timestamp_does_not_verify() -> None:
    header = sign(SECRET, NOW, BODY)
    assert not verify(SECRET, header, BODY + b" ", now=NOW)
    assert not verify("another secret", header, BODY, now=NOW)
    forged = header.replace(f"t={NOW}", f"t={NOW + 1}")
    assert not verify(SECRET, forged, BODY, now=NOW)


def test_a_stale_signature_is_refused() -> None:
    header = sign(SECRET, NOW, BODY)
    assert verify(SECRET, header, BODY, now=NOW + 300)
    assert not verify(SECRET, header, BODY, now=NOW + 301)
    assert not verify(SECRET, header, BODY, now=NOW - 301)
    assert verify(SECRET, header, BODY, now=NOW + 3000, tolerance=3600)


def test_garbage_headers_do_not_verify() -> None:
    for header in (None, "", "t=abc,v1=00", f"t={NOW}", "v1=00", f"t={NOW},v1=é", "nonsense"):
        assert not verify(SECRET, header, BODY, now=NOW)


def test_one_good_signature_among_several_verifies() -> None:
    good = sign(SECRET, NOW, BODY)
    old = sign("the old secret", NOW, BODY).split(",")[1]
    assert verify(SECRET, f"{good},{old}", BODY, now=NOW)
