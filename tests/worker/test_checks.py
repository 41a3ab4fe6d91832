"""Each built-in check on Spanish and English examples, spam and legitimate."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, Settings
from core.enums import Kind, Verdict
from core.limits import BODY
from worker.checks import Content, load_checks
from worker.checks.base import Env, Lists
from worker.checks.length import LengthCheck
from worker.checks.links import LinksCheck, count_links
from worker.checks.repetition import RepetitionCheck
from worker.checks.words import BlockedWordsCheck
from worker.normalize import fold

CONFIG = Settings(
    instance_path=Path("instance"),
    database_url="sqlite://",
    broker_url="memory://",
    ratelimit_storage_url="memory://",
)
ENV = Env.of(CONFIG)

# A tip as a real source writes one: evidence links, a phone number, an e-mail address.
REAL_TIP = (
    "Trabajo en el puerto de Mariel. Desde marzo desvían contenedores de arroz donado. "
    "Fotos de los manifiestos: https://drive.proton.me/urls/ABC123 y "
    "https://www.dropbox.com/s/xyz/manifiestos.pdf — pueden llamarme al +53 5 234 5678 "
    "o escribir a fuente.mariel@protonmail.com después de las 8 de la noche."
)
REAL_TIP_EN = (
    "I drive for the ministry. The new fuel quota is being sold at night; the receipts are at "
    "https://example.org/receipts and www.example.net/photos. Call +1 305 555 0100 or write "
    "to driver.tips@example.com."
)


def comment(text: str, name: str = "Ana") -> Content:
    return Content(kind=Kind.comment, text=text, name=name)


def tip(text: str, contact: str = "", name: str = "") -> Content:
    return Content(kind=Kind.tip, text=text, contact=contact, name=name)


# --- length -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        comment("Muy buen artículo, gracias."),
        comment("Great reporting, thank you."),
        tip(REAL_TIP),
        tip("x" * BODY[Kind.tip].max),
    ],
)
def test_length_within_the_limits_is_ok(content: Content) -> None:
    outcome = LengthCheck().run(content, ENV)
    assert outcome.verdict is Verdict.ok
    assert outcome.params == {"length": len(content.text)}


def test_length_limits_depend_on_the_kind() -> None:
    long_text = "Una historia larga. " * 200  # 4000 characters: too long for a comment only
    assert LengthCheck().run(comment(long_text), ENV).verdict is Verdict.suspect
    assert LengthCheck().run(tip(long_text), ENV).verdict is Verdict.ok


def test_too_short_or_too_long_is_held_with_the_limit_named() -> None:
    short = LengthCheck().run(tip("Corrupción"[:5]), ENV)
    assert short.verdict is Verdict.suspect
    assert short.params == {"length": 5, "min": BODY[Kind.tip].min}
    assert "minimum" in short.reason

    longer = LengthCheck().run(comment("a" * (BODY[Kind.comment].max + 1)), ENV)
    assert longer.verdict is Verdict.suspect
    assert longer.params["max"] == BODY[Kind.comment].max
    assert longer.reason % longer.params == "length 3001, over the maximum of 3000"


# --- links ------------------------------------------------------------------------------------


def test_a_real_tip_with_phone_email_and_two_links_is_not_spam() -> None:
    for text in (REAL_TIP, REAL_TIP_EN):
        content = tip(text, contact="+53 5 234 5678")
        outcome = LinksCheck().run(content, ENV)
        assert outcome.verdict is Verdict.ok
        assert outcome.params == {"count": 2}
        for check in load_checks(CONFIG.checks):
            assert check.run(content, ENV).verdict is Verdict.ok, check.name


def test_email_addresses_and_phone_numbers_are_not_links() -> None:
    assert count_links("Escríbeme a juan.perez@gmail.com o al 55512345") == 0
    assert count_links("Write to press@example.org, phone (305) 555-0100") == 0
    # A missing space after a full stop is not a Spanish link.
    assert count_links("Llegó tarde.es un problema de siempre") == 0


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("Mira https://ofertas.example.com y http://example.net/x", 2),
        ("Recargas baratas en bit.ly/recarga-cuba y www.recargas.xyz ya", 2),
        ("Cheap pills: promo-pills.xyz/buy, https://a.example/b, www.c.example", 3),
    ],
)
def test_links_are_counted_with_or_without_a_scheme(text: str, count: int) -> None:
    assert count_links(text) == count


def test_more_links_than_a_comment_allows_is_suspect_not_spam() -> None:
    text = "Ofertas: https://a.example.com https://b.example.com https://c.example.com"
    outcome = LinksCheck().run(comment(text), ENV)
    assert outcome.verdict is Verdict.suspect
    assert outcome.params == {"count": 3, "max": CONFIG.max_links_comment}
    two = "See https://a.example.com and https://b.example.com"
    assert LinksCheck().run(comment(two), ENV).verdict is Verdict.ok


def test_a_tip_may_carry_more_links_than_a_comment_and_is_only_suspect_beyond() -> None:
    links = " ".join(f"https://docs.example.org/{i}" for i in range(CONFIG.max_links_tip))
    assert LinksCheck().run(tip("Pruebas: " + links), ENV).verdict is Verdict.ok
    over = LinksCheck().run(tip("Pruebas: " + links + " https://x.example.org"), ENV)
    assert over.verdict is Verdict.suspect  # never spam for links alone


# --- blocked words -----------------------------------------------------------------------------


def words_env(*banned: str) -> Env:
    """An Env banning `banned`, or the built-in words as worker.environment merges them."""
    return Env.of(CONFIG, lists=Lists(banned_words=banned or CONFIG.blocked_words))


@pytest.mark.parametrize(
    "text",
    [
        "Compra VIAGRA sin receta",
        "compra víagra barata",
        "Best Viagra prices, order now",
        "ＶＩＡＧＲＡ ｇｒａｔｉｓ",  # full-width letters (NFKC)
        "vi\u200bagra aquí",  # a zero-width space hidden inside
        "¡¡Viagra!!",
    ],
)
def test_case_accent_and_width_variants_match_a_blocked_word(text: str) -> None:
    outcome = BlockedWordsCheck().run(comment(text), words_env())
    assert outcome.verdict is Verdict.spam
    assert outcome.params == {"word": "viagra"}
    assert outcome.reason % outcome.params == "banned word: viagra"


def test_phrases_match_whole_across_any_spacing() -> None:
    outcome = BlockedWordsCheck().run(comment("El mejor CASINO   ONLINE de Miami"), words_env())
    assert (outcome.verdict, outcome.params) == (Verdict.spam, {"word": "casino online"})
    # The words apart are not the phrase.
    text = "El casino de Varadero abrió; la venta online sigue cerrada."
    assert BlockedWordsCheck().run(comment(text), words_env()).verdict is Verdict.ok


def test_a_blocked_word_does_not_match_inside_another_word() -> None:
    config = words_env("recargas")
    check = BlockedWordsCheck()
    assert check.run(comment("Oferta de RECARGAS a Cuba"), config).verdict is Verdict.spam
    for text in (
        "Las sobrecargas eléctricas dañaron el transformador",
        "recargasbaratas punto com",
        "We need to recharge the phones",
    ):
        assert check.run(comment(text), config).verdict is Verdict.ok, text


def test_legitimate_text_near_blocked_words_passes() -> None:
    for text in (
        "El viaducto de Bacunayagua necesita reparación urgente.",
        "The viaduct collapsed after the storm; nobody was hurt.",
        "Las apuestas en el béisbol son ilegales en Cuba.",
    ):
        assert BlockedWordsCheck().run(comment(text), words_env()).verdict is Verdict.ok, text


def test_a_blocked_word_in_the_display_name_is_spam() -> None:
    outcome = BlockedWordsCheck().run(comment("Buen artículo", name="Casino Online"), words_env())
    assert (outcome.verdict, outcome.params) == (Verdict.spam, {"word": "casino online"})


def test_blocked_words_written_with_accents_or_capitals_still_match() -> None:
    config = words_env("Relojes Réplica")
    outcome = BlockedWordsCheck().run(comment("vendo relojes replica"), config)
    assert (outcome.verdict, outcome.params) == (Verdict.spam, {"word": "Relojes Réplica"})


def test_fold_is_nfkc_casefolded_and_accent_free() -> None:
    # All accents but the tilde of "ñ": "año" and "ano" are different words.
    assert fold("Ñandú ÉXITO ﬁn Straße") == "ñandu exito fin strasse"


# --- repetition ---------------------------------------------------------------------------------


def test_a_run_longer_than_the_limit_is_suspect() -> None:
    limit = CONFIG.max_repeated_chars
    outcome = RepetitionCheck().run(comment("Noooooooooooooooo!!!"), ENV)
    assert outcome.verdict is Verdict.suspect
    assert outcome.params == {"count": 16, "max": limit}
    shouting = RepetitionCheck().run(comment("FREE MONEY" + "!" * (limit + 1)), ENV)
    assert shouting.verdict is Verdict.suspect


def test_runs_up_to_the_limit_and_whitespace_are_fine() -> None:
    limit = CONFIG.max_repeated_chars
    for text in (
        "¡Qué bueno!!! Jajajajajajajajaja",
        "Wow" + "o" * (limit - 1),
        "Primera parte.\n\n\n\n\n\n\n\n\n\n\n\n\n\n\nSegunda parte" + " " * 40 + "fin",
        "Call 555-0000000 now",
    ):
        assert RepetitionCheck().run(comment(text), ENV).verdict is Verdict.ok, text


def test_the_repeated_character_itself_is_not_stored() -> None:
    outcome = RepetitionCheck().run(tip("Secreto: ZZZZZZZZZZZZZZZZZZZZ"), ENV)
    assert "Z" not in repr(outcome.params)


# --- registry -----------------------------------------------------------------------------------


def test_the_default_checks_are_the_built_in_ones_without_akismet() -> None:
    names = [check.name for check in load_checks(CONFIG.checks)]
    assert names == [
        "length",
        "links",
        "words",
        "repetition",
        "flood",
        "reputation",
        "classifier",
        "premoderation",
    ]
    with_key = Settings.from_env({"TIPLINE_AKISMET_KEY": "abc"})
    assert with_key.checks[-1] == "akismet"


def test_a_check_named_module_colon_class_is_imported() -> None:
    checks = load_checks(("length", "tests.worker.sample_checks:SlowCheck"))
    assert [check.name for check in checks] == ["length", "slow"]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (("length", "lenght"), "unknown check 'lenght'"),
        (("tests.worker.sample_checks:Nope",), "cannot import"),
        (("core.config:Settings",), "not a subclass"),
        (("words", "words"), "twice"),
    ],
)
def test_misconfigured_checks_are_refused_by_name(names: tuple[str, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_checks(names)
