"""Codenames: random words from the page's language, kept only as a slow hash and a public key."""

from __future__ import annotations

import math
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import codenames
from core.config import Settings
from core.db import utcnow
from core.enums import Kind, Status
from core.models import Submission, TipDetails
from core.site_settings import save


def add_tip(session: Session) -> TipDetails:
    """A committed tip with its details row, as the public site stores one (content opaque)."""
    submission = Submission(kind=Kind.tip, status=Status.new, sealed=b"sealed elsewhere")
    details = TipDetails(submission=submission)
    session.add_all([submission, details])
    session.commit()
    return details


@pytest.mark.parametrize("language", codenames.LANGUAGES)
def test_each_word_list_has_enough_distinct_easy_words(language: str) -> None:
    words = codenames.wordlist(language)
    assert len(words) >= 2048
    assert len(set(words)) == len(words)
    assert all(word.isascii() and word.isalpha() and word.islower() for word in words)
    # The source and licence line is a comment, not a word.
    assert not any(word.startswith("#") for word in words)


def test_spanish_words_are_folded_and_leave_out_what_no_source_should_carry() -> None:
    words = set(codenames.wordlist("es"))
    assert {"abaco", "anadir", "manana"} <= words  # ábaco, añadir, mañana
    assert words.isdisjoint({"ano", "policia", "espia", "carcel", "muerte", "droga"})


@pytest.mark.parametrize(
    ("locale", "language", "count"), [("en", "en", 7), ("es", "es", 8), ("es_MX", "es", 8)]
)
def test_a_codename_is_seven_or_more_words_of_the_pages_language(
    locale: str, language: str, count: int
) -> None:
    codename = codenames.generate(locale)
    words = codename.split(" ")
    assert len(words) == count
    assert set(words) <= set(codenames.wordlist(language))
    # At least 77 bits however the list grows or shrinks.
    assert count * math.log2(len(codenames.wordlist(language))) >= 77
    assert codenames.generate(locale) != codename


def test_a_language_without_a_list_gets_english_words() -> None:
    words = codenames.generate("fr").split()
    assert len(words) == 7 and set(words) <= set(codenames.wordlist("en"))


def test_case_accents_and_separators_do_not_matter() -> None:
    assert codenames.normalise("  Ábaco-ABDOMEN,  abeja\tAÑADIR ") == "abaco abdomen abeja anadir"
    key = b"k" * 32
    typed = codenames.derive(key, "ÁBACO abdomen  Abeja")
    assert typed == codenames.derive(key, "abaco abdomen abeja")
    assert typed != codenames.derive(key, "abaco abdomen abejas")
    # A different server secret: a different hash (a stolen dump alone cannot test guesses).
    assert typed.lookup != codenames.derive(b"j" * 32, "abaco abdomen abeja").lookup


def test_only_a_slow_hash_and_a_public_key_are_stored(session: Session, settings: Settings) -> None:
    details = add_tip(session)
    codename = codenames.issue(session, settings, details, "en")
    session.commit()

    row = session.execute(
        select(TipDetails.__table__).where(TipDetails.submission_id == details.submission_id)
    ).one()
    dump = repr(tuple(row))
    assert details.codename_hash and details.reply_public_key
    for form in (codename, codename.replace(" ", ""), codename.encode().hex()):
        assert form not in dump
    assert codename not in details.codename_hash
    derived = codenames.derive(settings.hash_key, codename)
    # The private key is not stored: the row holds its public half only.
    assert derived.private_key.hex() not in dump and derived.private_key not in tuple(row)
    assert details.reply_public_key == derived.public_key


def test_the_right_codename_is_recognised_and_opens_what_was_sealed_to_it(
    session: Session, settings: Settings
) -> None:
    details = add_tip(session)
    codename = codenames.issue(session, settings, details, "es")
    session.commit()

    access = codenames.recognise(session, settings.hash_key, codename.upper())
    assert access is not None and access.submission_id == details.submission_id
    assert details.reply_public_key is not None
    sealed = codenames.seal_for_source(details.reply_public_key, {"text": "Gracias, seguimos"})
    assert codenames.open_for_source(access.private_key, sealed) == {"text": "Gracias, seguimos"}

    other = codenames.derive(settings.hash_key, codenames.generate("es"))
    with pytest.raises(codenames.CodenameError):
        codenames.open_for_source(other.private_key, sealed)


def test_wrong_and_expired_codenames_are_refused_alike(
    session: Session, settings: Settings
) -> None:
    save(session, None, codename_days=10)
    details = add_tip(session)
    codename = codenames.issue(session, settings, details, "en")
    session.commit()
    assert details.codename_expires_at is not None
    assert details.codename_expires_at - utcnow() > timedelta(days=9, hours=23)

    later = utcnow() + timedelta(days=11)
    start = time.perf_counter()
    expired = codenames.recognise(session, settings.hash_key, codename, now=later)
    expired_took = time.perf_counter() - start
    start = time.perf_counter()
    wrong = codenames.recognise(session, settings.hash_key, codenames.generate("en"))
    wrong_took = time.perf_counter() - start

    assert expired is None and wrong is None
    assert codenames.recognise(session, settings.hash_key, codename) is not None
    # Both paid the slow hash: timing does not tell a guesser that a codename existed.
    start = time.perf_counter()
    codenames.derive(settings.hash_key, codename)
    one_hash = time.perf_counter() - start
    assert expired_took > one_hash / 2 and wrong_took > one_hash / 2


def test_a_reply_keeps_the_codename_working(session: Session, settings: Settings) -> None:
    details = add_tip(session)
    codename = codenames.issue(session, settings, details, "en")
    codenames.keep_after_reply(details)
    session.commit()

    far = utcnow() + timedelta(days=3650)
    assert codenames.recognise(session, settings.hash_key, codename, now=far) is not None
