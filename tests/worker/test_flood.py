"""The flood check on Spanish and English floods, with the Redis store and the memory store."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core.config import ConfigError, Settings
from core.db import utcnow
from core.enums import Kind, ModerationMode, Status, Verdict
from core.models import Article, Submission
from tests.support import wait_for
from tests.worker.conftest import free_port, inspect
from tipline.broker import redis_server_binary
from worker.checking import check_submission
from worker.checks.base import Content, Env, Result
from worker.checks.flood import MIN_WORDS, FloodCheck, fingerprint, words_of
from worker.floodstore import (
    FloodStore,
    FloodStoreError,
    MemoryFloodStore,
    RedisFloodStore,
    flood_store,
    redis_py_url,
)
from worker.pipeline import run_checks

REDIS = "redis://127.0.0.1:6379/13"
BASE = Settings(
    instance_path=Path("instance"),
    database_url="sqlite://",
    broker_url="memory://",
    ratelimit_storage_url="memory://",
)

AD_ES = (
    "¡Envía remesas a Cuba sin comisión! Recarga a tu familia en minutos con el mejor cambio "
    "del mercado. Escríbenos por WhatsApp al +1 305 555 0199 o entra en www.remesasya.com"
)
AD_ES_EDITS = [
    # Another phone number.
    AD_ES.replace("+1 305 555 0199", "+1 (786) 222-3344"),
    # Emoji and shouting.
    "🔥🔥 " + AD_ES.replace("sin comisión", "SIN COMISIÓN!!! 💸") + " 🇨🇺",
    # Accents dropped, a word changed and one added.
    "Envia remesas a Cuba sin comision! Recarga a tu familia en minutos con el mejor cambio "
    "de todo el mercado. Escribenos por Telegram al +1 305 555 0199 o entra en www.remesasya.com",
]
AD_EN = (
    "Send money to Cuba with zero fees! Top up your family's phone in minutes at the best "
    "exchange rate. Message us on WhatsApp +1 305 555 0199 or visit remesasya.com today"
)
AD_EN_EDITS = [
    AD_EN.replace("+1 305 555 0199", "+1 786 444 1212"),
    "💰💰 " + AD_EN.upper() + " 💰",
    AD_EN.replace("today", "right now").replace("zero fees", "no fees"),
]
# Readers on one story: the same topic and words, not copies.
BLACKOUTS = [
    "La situación con los apagones en Holguín es insostenible, llevamos tres días con cortes "
    "de doce horas y nadie da explicaciones.",
    "En Santiago también hay apagones de más de diez horas, la comida se echa a perder y el "
    "gobierno solo habla del bloqueo.",
    "Los apagones no son culpa del bloqueo, es la falta de mantenimiento de las termoeléctricas "
    "desde hace años.",
    "Gracias por informar sobre los apagones, aquí en Camagüey la situación es igual o peor que "
    "en Holguín.",
    "The blackouts in Havana are getting worse every week and the government keeps blaming "
    "the embargo.",
    "Blackouts in Matanzas last twelve hours a day now, and food spoils in every fridge in the "
    "neighbourhood.",
    "Apagones de doce horas en Holguín otra vez, y nadie da explicaciones: es insostenible.",
]


@pytest.fixture(params=["memory", "redis"])
def flood_settings(request: pytest.FixtureRequest) -> Iterator[Settings]:
    """Settings whose flood store is the memory store, or the test Redis under a new prefix."""
    prefix = f"tipline-test-flood-{uuid.uuid4().hex[:10]}"
    if request.param == "memory":
        yield BASE.with_overrides(ratelimit_prefix=prefix)
        return
    client = redis.Redis.from_url(REDIS, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS}: {exc}")
    yield BASE.with_overrides(ratelimit_storage_url=REDIS, ratelimit_prefix=prefix)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


class Sender:
    """Submissions arriving one second apart, each with its own id, checked by FloodCheck."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = flood_store(settings)
        self.ids = count(1)
        self.start = utcnow()

    def content(self, text: str, kind: Kind = Kind.comment, **who: str | None) -> Content:
        ident = next(self.ids)
        return Content(
            kind=kind,
            text=text,
            submission_id=ident,
            received_at=self.start + timedelta(seconds=ident),
            email_hash=who.get("email_hash"),
            ip_hash=who.get("ip_hash"),
        )

    def check(self, content: Content) -> Result:
        return FloodCheck().run(content, Env.of(self.settings, flood=self.store))

    def send(self, text: str, kind: Kind = Kind.comment, **who: str | None) -> Result:
        return self.check(self.content(text, kind, **who))


def verdicts(results: list[Result]) -> list[str]:
    return [r.verdict.value for r in results]


# --- copies ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ad", [AD_ES, AD_EN])
def test_the_same_ad_posted_four_times_is_spam_the_fourth_time(
    flood_settings: Settings, ad: str
) -> None:
    sender = Sender(flood_settings)
    results = [sender.send(ad) for _ in range(4)]

    assert verdicts(results) == ["ok", "ok", "ok", "spam"]
    assert [r.params["count"] for r in results] == [1, 2, 3, 4]
    last = results[-1]
    assert last.score == 1.0
    assert last.reason % last.params == "at least 4 copies in 60 minutes, more than 3"


@pytest.mark.parametrize(("ad", "edits"), [(AD_ES, AD_ES_EDITS), (AD_EN, AD_EN_EDITS)])
def test_lightly_edited_copies_are_still_copies(
    flood_settings: Settings, ad: str, edits: list[str]
) -> None:
    sender = Sender(flood_settings)
    results = [sender.send(text) for text in [ad, *edits]]
    assert verdicts(results) == ["ok", "ok", "ok", "spam"]
    assert results[-1].params["count"] == 4


def test_phone_numbers_and_emoji_do_not_change_the_words_compared() -> None:
    assert words_of(AD_ES_EDITS[0]) == words_of(AD_ES)
    assert words_of("🔥 Hola, MUNDO!!! 💸") == ["hola", "mundo"]
    assert words_of("Llama al 5 123 4567 o al 53-12-34-56") == ["llama", "al", "0", "o", "al", "0"]
    assert fingerprint(AD_ES_EDITS[0]) == fingerprint(AD_ES)


def test_different_comments_on_the_same_story_are_not_copies(flood_settings: Settings) -> None:
    sender = Sender(flood_settings)
    results = [sender.send(text) for text in BLACKOUTS]
    assert verdicts(results) == ["ok"] * len(BLACKOUTS)
    assert {r.params["count"] for r in results} == {1}


def test_short_thanks_repeated_by_many_readers_is_not_a_flood(flood_settings: Settings) -> None:
    sender = Sender(flood_settings)
    for text in ["Gracias", "Muy bien", "Gracias por informar", "Thank you!", "Excelente 👏👏"] * 6:
        outcome = sender.send(text)
        assert outcome.verdict is Verdict.ok
        assert outcome.reason == "too short to compare with other texts"
    assert len(words_of("Gracias por la información, saludos")) == MIN_WORDS


def test_copies_of_a_short_formula_are_held_not_binned(flood_settings: Settings) -> None:
    # Six words: compared, but readers do write the same short sentence.
    sender = Sender(flood_settings)
    results = [sender.send("Muy buen artículo, gracias por informar.") for _ in range(5)]
    assert verdicts(results) == ["ok", "ok", "ok", "suspect", "suspect"]


def test_a_tip_sent_again_and_again_is_at_most_suspect(flood_settings: Settings) -> None:
    sender = Sender(flood_settings)
    tip = (
        "En la fábrica de Santa Clara venden el combustible por la puerta de atrás todas las "
        "noches, pregunten por el jefe de turno."
    )
    results = [sender.send(tip, Kind.tip) for _ in range(6)]
    assert verdicts(results) == ["ok", "ok", "ok", "suspect", "suspect", "suspect"]


def test_copies_older_than_the_window_do_not_count(flood_settings: Settings) -> None:
    settings = flood_settings.with_overrides(flood_window_seconds=600)
    sender = Sender(settings)
    check = FloodCheck()
    env = Env.of(settings, flood=sender.store)
    old = sender.start - timedelta(minutes=30)
    for ident in range(1, 4):
        stale = Content(
            kind=Kind.comment,
            text=AD_ES,
            submission_id=ident,
            received_at=old + timedelta(seconds=ident),
        )
        check.run(stale, env)
    fresh = Content(kind=Kind.comment, text=AD_ES, submission_id=99, received_at=sender.start)
    outcome = check.run(fresh, env)
    assert outcome.verdict is Verdict.ok
    assert outcome.params == {"count": 1, "minutes": 10}


# --- idempotence ------------------------------------------------------------------------------


def test_checking_a_submission_again_does_not_count_it_twice(flood_settings: Settings) -> None:
    sender = Sender(flood_settings)
    first = sender.content(AD_ES)
    for _ in range(5):  # a redelivered task, a sweeper's duplicate...
        assert sender.check(first).params["count"] == 1
    second = sender.content(AD_ES)
    assert sender.check(second).params["count"] == 2
    assert sender.check(first).params["count"] == 1  # later copies are not its business


# --- senders -----------------------------------------------------------------------------------


def test_one_sender_over_the_limit_is_held(flood_settings: Settings) -> None:
    settings = flood_settings.with_overrides(sender_max_per_window=3)
    sender = Sender(settings)
    results = [sender.send(text, email_hash="e" * 64, ip_hash="1" * 64) for text in BLACKOUTS[:5]]
    assert verdicts(results) == ["ok", "ok", "ok", "suspect", "suspect"]
    held = results[3]
    assert held.score == 0.5
    assert held.reason % held.params == "this sender sent 4 in 60 minutes, more than 3"
    # Someone else on the same network (a carrier's NAT) is counted by their own e-mail.
    other = sender.send(BLACKOUTS[5], email_hash="f" * 64, ip_hash="1" * 64)
    assert other.verdict is Verdict.ok


def test_without_an_e_mail_the_network_is_counted(flood_settings: Settings) -> None:
    settings = flood_settings.with_overrides(sender_max_per_window=2)
    sender = Sender(settings)
    results = [sender.send(text, ip_hash="2" * 64) for text in BLACKOUTS[:3]]
    assert verdicts(results) == ["ok", "ok", "suspect"]


def test_short_texts_still_count_against_their_sender(flood_settings: Settings) -> None:
    settings = flood_settings.with_overrides(sender_max_per_window=2)
    sender = Sender(settings)
    results = [sender.send("Gracias", email_hash="a" * 64) for _ in range(3)]
    assert verdicts(results) == ["ok", "ok", "suspect"]


# --- the store ---------------------------------------------------------------------------------


def test_the_store_is_made_once_per_process_and_url() -> None:
    settings = BASE.with_overrides(ratelimit_prefix="tipline-test-once")
    assert flood_store(settings) is flood_store(settings)
    assert isinstance(flood_store(settings), MemoryFloodStore)
    on_redis = flood_store(settings.with_overrides(ratelimit_storage_url=REDIS))
    assert isinstance(on_redis, RedisFloodStore)
    assert (
        redis_py_url("redis+unix:///srv/tipline/broker.sock") == "unix:///srv/tipline/broker.sock"
    )
    with pytest.raises(ConfigError, match="needs Redis or memory://"):
        flood_store(settings.with_overrides(ratelimit_storage_url="memcached://127.0.0.1:11211"))


def test_the_embedded_brokers_socket_url_works(tmp_path: Path) -> None:
    socket_path = tmp_path / "broker.sock"
    server = subprocess.Popen(
        [
            *(str(redis_server_binary()), "--port", "0", "--unixsocket", str(socket_path)),
            *("--save", "", "--appendonly", "no"),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(socket_path.exists, timeout=10, what="the embedded broker's socket")
        settings = BASE.with_overrides(
            ratelimit_storage_url=f"redis+unix://{socket_path}", ratelimit_prefix="t"
        )
        sender = Sender(settings)
        assert verdicts([sender.send(AD_ES) for _ in range(4)])[-1] == "spam"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_an_unreachable_store_fails_the_check_and_holds_the_comment() -> None:
    store: FloodStore = RedisFloodStore(f"redis://127.0.0.1:{free_port()}/0", "t")
    content = Content(kind=Kind.comment, text=AD_ES, submission_id=1)
    with pytest.raises(FloodStoreError, match="cannot be reached"):
        FloodCheck().run(content, Env.of(BASE, flood=store))
    # The pipeline turns the failure into `error` (the policy holds it for a person); the store
    # then fails at once for a few seconds instead of waiting for its timeout again.
    [outcome] = run_checks([FloodCheck()], content, Env.of(BASE, flood=store))
    assert outcome.result.verdict is Verdict.error
    assert outcome.result.params == {"check": "flood", "error": "FloodStoreError"}


def test_without_a_store_nothing_is_counted() -> None:
    outcome = FloodCheck().run(Content(kind=Kind.comment, text=AD_ES), Env.of(BASE, flood=None))
    assert outcome.verdict is Verdict.ok
    assert outcome.reason == "not counted: no flood store configured"


# --- through the worker's own code path --------------------------------------------------------


def _comment(session: Session, article: Article, body: str, at: datetime) -> int:
    submission = Submission(
        kind=Kind.comment,
        article=article,
        author_name="Lector",
        body=body,
        locale="es",
        created_at=at,
    )
    session.add(submission)
    session.commit()
    return submission.id


def test_a_flood_of_comments_is_caught_by_the_worker(
    session: Session, engine: Engine, settings: Settings
) -> None:
    settings = settings.with_overrides(checks=("flood",))
    article = Article(slug="remesas", title="Remesas", mode=ModerationMode.post)
    start = utcnow() - timedelta(minutes=5)
    ids = [_comment(session, article, AD_ES, start + timedelta(seconds=i)) for i in range(4)]

    statuses = [check_submission(session, i, settings) for i in ids]

    assert statuses == [Status.published] * 3 + [Status.spam]
    assert inspect(engine, ids[-1]).results == [("flood", "spam")]
