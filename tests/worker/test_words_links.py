"""The word lists and the links check, on Spanish and English spam and legitimate text."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Settings
from core.enums import Kind, Verdict
from worker.checks.base import Content, Env, Lists
from worker.checks.links import LinksCheck, count_links, link_hosts
from worker.checks.words import BlockedWordsCheck
from worker.normalize import find_term, fold, normalise, unmask

CONFIG = Settings(
    instance_path=Path("instance"),
    database_url="sqlite://",
    broker_url="memory://",
    ratelimit_storage_url="memory://",
)
BANNED = (*CONFIG.blocked_words, "recargas", "casino")
SUSPECT = ("préstamo rápido", "crypto", "pequeño", "ios")
BLOCKED = frozenset({"promo-cuba.xyz", "fake-news.example"})
OWN_SITE = "periodico.example"
ALLOWED = frozenset({*CONFIG.allowed_domains, OWN_SITE})

# A tip as a real source writes one: evidence links, a phone number, an e-mail address.
REAL_TIP = (
    "Trabajo en el puerto de Mariel. Desde marzo desvían contenedores de arroz donado. "
    "Fotos de los manifiestos: https://drive.proton.me/urls/ABC123, "
    "https://www.dropbox.com/s/xyz/manifiestos.pdf y la nota de "
    "https://www.14ymedio.com/cuba/puerto-mariel.html — pueden llamarme al +53 5 234 5678 "
    "o escribir a fuente.mariel@protonmail.com después de las 8 de la noche."
)
REAL_TIP_EN = (
    "I drive for the ministry. The new fuel quota is being sold at night; the receipts are at "
    "https://example.org/receipts and www.example.net/photos, the order is on "
    "https://files.example.com/order.pdf. Call +1 (305) 555-0100 or write to "
    "driver.tips@example.com; my colleague is on 305.555.0199."
)


def env(**lists: object) -> Env:
    """An Env with the test lists, as worker.environment merges them."""
    base: dict[str, object] = {
        "banned_words": BANNED,
        "suspect_words": SUSPECT,
        "blocked_domains": BLOCKED,
        "allowed_domains": ALLOWED,
    }
    return Env.of(CONFIG, lists=Lists(**{**base, **lists}))  # type: ignore[arg-type]


ENV = env()


def comment(text: str, name: str = "Ana") -> Content:
    return Content(kind=Kind.comment, text=text, name=name)


def tip(text: str, contact: str = "", name: str = "") -> Content:
    return Content(kind=Kind.tip, text=text, contact=contact, name=name)


def words(content: Content, environment: Env = ENV) -> tuple[Verdict, str]:
    outcome = BlockedWordsCheck().run(content, environment)
    return outcome.verdict, outcome.reason % outcome.params


def links(content: Content, environment: Env = ENV) -> tuple[Verdict, str]:
    outcome = LinksCheck().run(content, environment)
    return outcome.verdict, outcome.reason % outcome.params


# --- banned words -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("Compra VIAGRA sin receta", "viagra"),
        ("Best V1AGRA prices, order now", "viagra"),
        ("cheap v.i.a.g.r.a here", "viagra"),
        ("compra v-1-a-g-r-a!!", "viagra"),
        ("viaaaagra para todos", "viagra"),
        ("Best vi\u200dagra deals", "viagra"),  # a zero-width joiner inside the word
        ("vі\u0430gra barata", "viagra"),  # Cyrillic і and а that look Latin
        ("𝐯𝐢𝐚𝐠𝐫𝐚 gratis", "viagra"),  # mathematical bold letters (NFKC)
        ("r e c a r g a s a Cuba al mejor precio", "recargas"),
        ("R3CARGAS a Cuba, 100% bonus", "recargas"),
        ("Re\u200bcár\u00adgas dobles hoy", "recargas"),  # zero-width space, accent, soft hyphen
        ("El mejor c@sino de Miami", "casino"),
        ("El mejor CASINO,   ONLINE de Miami", "casino online"),
        ("Play at the best casino online tonight", "casino online"),
    ],
)
def test_a_banned_word_however_disguised_is_spam_and_named(text: str, term: str) -> None:
    assert words(comment(text)) == (Verdict.spam, f"banned word: {term}")


@pytest.mark.parametrize(
    "text",
    [
        "Las sobrecargas eléctricas dañaron el transformador de 23 de Mayo.",
        "recargasbaratas punto com no es un sitio que conozcamos",
        "Los casinos de La Habana cerraron en 1959.",
        "The casinos of Havana closed in 1959.",
        "El viaducto de Bacunayagua necesita reparación urgente.",
        "The viaduct collapsed after the storm; nobody was hurt.",
        "Las apuestas en el béisbol son ilegales en Cuba.",
        "Voy a y o e u: las vocales del abecedario.",
        "Hubo 105 detenidos y 3 heridos; llamen al +53 5 234 5678.",
    ],
)
def test_whole_words_only_so_legitimate_text_passes(text: str) -> None:
    assert words(comment(text)) == (Verdict.ok, "no listed words")


def test_the_term_is_named_as_the_admin_typed_it() -> None:
    listed = env(banned_words=("Relojes Réplica",))
    assert words(comment("vendo RELOJES replica baratos"), listed) == (
        Verdict.spam,
        "banned word: Relojes Réplica",
    )


def test_a_banned_word_in_the_name_is_spam_and_says_so() -> None:
    assert words(comment("Buen artículo", name="Casino Online")) == (
        Verdict.spam,
        "banned word in the name: casino online",
    )
    assert words(tip("Tengo información sobre el puerto", name="V1agra Shop")) == (
        Verdict.spam,
        "banned word in the name: viagra",
    )


def test_a_tipsters_contact_is_never_checked() -> None:
    content = tip("El director desvía el combustible de la planta.", contact="casino@example.org")
    assert words(content) == (Verdict.ok, "no listed words")


# --- suspect words ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("Ofrecemos PRÉSTAMO RÁPIDO sin papeles", "préstamo rápido"),
        ("ofrecemos prestamo   rapido hoy", "préstamo rápido"),
        ("Invest in CRYPTO today, double your money", "crypto"),
        ("Invest in cr¥pto... no: in crypt0 today", "crypto"),
        ("Un regalo pequeno para usted", "pequeño"),  # typed without the ñ
    ],
)
def test_a_suspect_word_holds_the_submission_and_is_named(text: str, term: str) -> None:
    assert words(comment(text)) == (Verdict.suspect, f"suspect word: {term}")


def test_a_banned_word_wins_over_a_suspect_one() -> None:
    text = "crypto and viagra, all in one place"
    assert words(comment(text)) == (Verdict.spam, "banned word: viagra")


def test_a_suspect_word_in_the_name_is_named_as_such() -> None:
    assert words(comment("Gracias por la nota", name="Crypto King")) == (
        Verdict.suspect,
        "suspect word in the name: crypto",
    )


def test_enye_is_kept_so_ano_does_not_match_ano() -> None:
    listed = env(banned_words=("ano",), suspect_words=())
    assert words(comment("Feliz año nuevo a toda la redacción"), listed)[0] is Verdict.ok
    assert words(comment("Happy new year"), listed)[0] is Verdict.ok


def test_numbers_are_not_read_as_leetspeak() -> None:
    # "105" would be "ios" if digits alone were read as letters.
    assert words(comment("Hubo 105 detenidos en la marcha")) == (Verdict.ok, "no listed words")
    assert words(comment("Descarga la app para i0s ya")) == (Verdict.suspect, "suspect word: ios")


# --- normalisation ----------------------------------------------------------------------------


def test_fold_and_unmask() -> None:
    assert fold("Ñandú ÉXITO ﬁn Straße") == "ñandu exito fin strasse"
    assert fold("vi\u200bag\u2060ra") == "viagra"
    assert unmask(fold("R E C A R G A S, V1AGRA")) == "recargas, viagra"
    assert normalise("r e c a r g a s y m a s").runs == ("recargasymas",)
    assert (
        unmask("llama al +53 5 234 5678 o al 55512345") == "llama al +53 5 234 5678 o al 55512345"
    )
    assert normalise("Hola, qué tal").unmasked_words is None  # nothing hidden: read once


def test_find_term_looks_at_the_words_as_written_before_unmasking_them() -> None:
    assert find_term("compra v1agra y cialis", ("viagra", "cialis")) == "cialis"
    assert find_term("compra v1agra", ("cialis", "viagra")) == "viagra"
    assert find_term("nada que ver", ("cialis", "viagra")) is None
    assert find_term("cualquier cosa", ()) is None
    # A term of nothing but punctuation never matches.
    assert find_term("!!! ???", ("!!!",)) is None


# --- links ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [REAL_TIP, REAL_TIP_EN])
def test_a_real_tip_with_phone_email_and_evidence_links_is_not_spam(text: str) -> None:
    content = tip(text, contact="+53 5 234 5678")
    verdict, _ = links(content)
    assert verdict is Verdict.ok
    # Many more links are held for an editor, never called spam.
    many = text + " " + " ".join(f"https://docs.example.org/{i}" for i in range(12))
    assert links(tip(many))[0] is Verdict.suspect
    assert words(content)[0] is Verdict.ok


def test_phone_numbers_and_email_addresses_are_never_links() -> None:
    for text in (
        "Escríbeme a juan.perez@gmail.com o al 55512345",
        "Write to press@example.org, phone (305) 555-0100 or 305.555.0199",
        "Llegó tarde.es un problema de siempre",
        "Mi número: +53 5 234 5678; el precio, 3.50 CUP; el informe.pdf está listo",
    ):
        assert count_links(text) == 0, text
        assert links(comment(text)) == (Verdict.ok, "links: 0")


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


def test_links_to_allowed_domains_and_their_subdomains_are_not_counted() -> None:
    text = (
        "Lo publicaron https://www.bbc.com/mundo/noticias-123, https://elpais.com/x.html, "
        "https://es.wikipedia.org/wiki/Mariel y el propio https://periodico.example/nota"
    )
    assert links(comment(text)) == (Verdict.ok, "links: 0")
    over = text + " https://a.example.com https://b.example.com https://c.example.com"
    assert links(comment(over)) == (Verdict.suspect, "links: 3, more than the limit of 2")
    # A look-alike of an allowed domain is not it.
    assert links(comment("https://notbbc.com/x https://bbc.com.promo.xyz/y"))[1] == "links: 2"


@pytest.mark.parametrize(
    "text",
    [
        "Recargas dobles en https://promo-cuba.xyz/oferta",
        "Top up now: www.promo-cuba.xyz",
        "Entra en ofertas.promo-cuba.xyz ya",
        "Mira http://bbc.com@promo-cuba.xyz/x",  # a user name that looks like a site
        "Entra en promo-cuba[.]xyz/oferta",
        "Visita ＰＲＯＭＯ－ＣＵＢＡ．ＸＹＺ hoy",  # full-width
    ],
)
def test_a_link_to_a_blocked_domain_is_spam_in_a_comment_and_held_in_a_tip(text: str) -> None:
    assert links(comment(text)) == (Verdict.spam, "link to a blocked domain: promo-cuba.xyz")
    assert links(tip(text)) == (Verdict.suspect, "link to a blocked domain: promo-cuba.xyz")


def test_blocked_domains_match_whole_labels_and_win_over_allowed_ones() -> None:
    assert links(comment("https://notpromo-cuba.xyz/x"))[0] is Verdict.ok
    both = env(blocked_domains=frozenset({"blogs.elpais.com"}))
    assert links(comment("https://blogs.elpais.com/x"), both)[0] is Verdict.spam
    assert links(comment("https://elpais.com/x"), both) == (Verdict.ok, "links: 0")


@pytest.mark.parametrize(
    ("text", "shortener"),
    [
        ("Mira esto: https://bit.ly/3xYz", "bit.ly"),
        ("Mira esto: bit.ly/3xYz", "bit.ly"),
        ("Look at t.co/abc123 now", "t.co"),
        ("Escríbenos por wa.link/abc", "wa.link"),
        ("See https://www.tinyurl.com/yc4", "tinyurl.com"),
    ],
)
def test_a_url_shortener_is_held_and_named(text: str, shortener: str) -> None:
    assert links(comment(text)) == (Verdict.suspect, f"link shortener: {shortener}")
    assert links(tip(text)) == (Verdict.suspect, f"link shortener: {shortener}")


def test_link_hosts_are_lower_cased_hosts_without_user_or_port() -> None:
    text = "HTTPS://User@Docs.Example.COM:8443/a?b#c and hxxp://evil[.]ru/x"
    assert link_hosts(text) == ["docs.example.com", "evil.ru"]


def test_a_term_typed_disguised_also_matches_what_it_stands_for() -> None:
    listed = env(banned_words=("R3CARGAS",), suspect_words=())
    for text in ("recargas a Cuba", "r3cargas a Cuba", "r e c a r g a s a Cuba"):
        assert words(comment(text), listed) == (Verdict.spam, "banned word: R3CARGAS"), text


def test_a_term_with_a_repeated_letter_keeps_it() -> None:
    # "xxx" must not become "x" and match any lone x ("2 x 1", a URL's path).
    env = Env.of(ENV.settings.with_overrides(blocked_words=("xxx",)))
    for text in ("Oferta 2 x 1 en https://promo.example.xyz/x y bit.ly/y", "Malcolm X"):
        assert BlockedWordsCheck().run(comment(text), env).params.get("word") != "xxx", text
    outcome = BlockedWordsCheck().run(comment("videos XXX gratis"), env)
    assert (outcome.verdict, outcome.reason % outcome.params) == (Verdict.spam, "banned word: xxx")
