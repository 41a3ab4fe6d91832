"""Every setting Tipline reads, from TIPLINE_* environment variables and the instance folder.

This is the only module that looks at the environment. Defaults run standalone: SQLite in the
instance folder and the embedded broker that `tipline standalone` starts there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

SECRETS_FILE = "secrets.json"
EMBEDDED_BROKER_SOCKET = "broker.sock"

DEFAULT_BLOCKED_WORDS = (
    "viagra",
    "cialis",
    "casino online",
    "apuestas online",
    "porno",
    "escort",
    "replica watches",
    "relojes replica",
)


DEFAULT_CHECKS = (
    "length",
    "links",
    "words",
    "repetition",
    "flood",
    "reputation",
    "classifier",
    # The admins' site-wide pre-moderation (core.site_settings); "off" by default.
    "premoderation",
)

DEFAULT_SHORTENERS = (
    "bit.ly",
    "tinyurl.com",
    "t.co",
    "goo.gl",
    "ow.ly",
    "is.gd",
    "buff.ly",
    "cutt.ly",
    "rebrand.ly",
    "shorturl.at",
    "tiny.cc",
    "rb.gy",
    "t.ly",
    "s.id",
    "v.gd",
    "bl.ink",
    "lnkd.in",
    "wa.link",
)

# Major news sites and reference works readers cite: a link to one is never held for itself.
DEFAULT_ALLOWED_DOMAINS = (
    "14ymedio.com",
    "cibercuba.com",
    "diariodecuba.com",
    "elestornudo.com",
    "eltoque.com",
    "cubanet.org",
    "granma.cu",
    "cubadebate.cu",
    "elpais.com",
    "elmundo.es",
    "bbc.com",
    "bbc.co.uk",
    "nytimes.com",
    "washingtonpost.com",
    "reuters.com",
    "apnews.com",
    "afp.com",
    "efe.com",
    "cnn.com",
    "univision.com",
    "telemundo.com",
    "elnuevoherald.com",
    "miamiherald.com",
    "theguardian.com",
    "wikipedia.org",
)


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Tipline's configuration. Build it with `Settings.from_env()`; tests use `replace()`."""

    instance_path: Path
    database_url: str
    broker_url: str
    ratelimit_storage_url: str
    intake_secret_key: str = ""
    moderation_secret_key: str = ""
    # Keys HMACs of IP addresses and e-mail addresses, so that no raw address is stored.
    hash_key: bytes = b""
    # The tip key lives in the database (core.tipkeys): editors' passwords guard its private
    # half. These two are what `tipline init` generated before that: the public site seals to
    # tip_public_key only while the database has no tip key, and `tipline tips setup
    # --import-secrets-key` (or the standalone demo) hands tip_private_key to an editor. The
    # worker gets a short-lived copy of each tip sealed to worker_public_key.
    tip_public_key: bytes = b""
    tip_private_key: bytes = b""
    worker_public_key: bytes = b""
    worker_private_key: bytes = b""
    site_name: str = "Tipline"
    intake_url: str = "http://127.0.0.1:5000"
    moderation_url: str = "http://127.0.0.1:5001"
    default_locale: str = "es"
    locales: tuple[str, ...] = ("es", "en")
    # The `limits` syntax; applies to each public POST, keyed by the hashed network address.
    submit_rate_limit: str = "10 per minute;60 per hour"
    login_rate_limit: str = "10 per minute;50 per hour"
    # Prefix of the rate-limit counters in Redis, so that several deployments can share one.
    ratelimit_prefix: str = "tipline"
    # Reads of the public JSON API (threads, counts) per network; CMS tokens are not limited.
    api_read_rate_limit: str = "300 per minute;5000 per hour"
    # Where published threads are cached (core.thread_cache): a Redis URL; empty, no cache
    # (TIPLINE_CACHE_URL=off). Defaults to the broker's Redis. Entries are dropped by every
    # decision that touches them, and in any case after thread_cache_seconds.
    cache_url: str = ""
    thread_cache_seconds: int = 600
    secure_cookies: bool = False
    trusted_proxies: int = 0
    checks: tuple[str, ...] = DEFAULT_CHECKS
    # Banned words that apply on top of the list admins manage in the staff site.
    blocked_words: tuple[str, ...] = DEFAULT_BLOCKED_WORDS
    max_links_comment: int = 2
    max_links_tip: int = 10
    max_repeated_chars: int = 12
    # Link shorteners hide where a link goes: a comment with one is held for a person.
    url_shorteners: tuple[str, ...] = DEFAULT_SHORTENERS
    # Domains whose links never count against a submission (on top of the staff-managed list);
    # the outlet's own site is added from intake_url.
    allowed_domains: tuple[str, ...] = DEFAULT_ALLOWED_DOMAINS
    # How long the worker keeps the lists, bans and model it read before reading them again.
    knowledge_ttl_seconds: float = 5.0
    # Flood: the same or nearly the same text more than flood_max_copies times within
    # flood_window_seconds (by anyone) is spam; one sender (e-mail or network hash) posting more
    # than sender_max_per_window times in that window is held.
    flood_window_seconds: int = 3600
    flood_max_copies: int = 3
    sender_max_per_window: int = 10
    # Reputation: trusted_after approved comments and none rejected skip pre-moderation; a
    # rejection rate of at least reputation_reject_rate over reputation_window_days (with at
    # least reputation_min_decisions decisions) holds every comment of that sender.
    trusted_after: int = 3
    reputation_window_days: int = 7
    reputation_reject_rate: float = 0.30
    reputation_min_decisions: int = 3
    # The spam classifier: probability thresholds; 0 means "the model's own recommendation".
    classifier_spam_threshold: float = 0.0
    classifier_suspect_threshold: float = 0.0
    # Retraining from moderators' decisions: how often (seconds; 0 turns it off) and how much
    # one of the newsroom's own decisions weighs against one base example.
    retrain_interval_seconds: int = 3600
    retrain_local_weight: float = 5.0
    # Akismet (off unless a key is set): the key, the site it is registered for, and a timeout.
    akismet_key: str = ""
    akismet_url: str = "https://rest.akismet.com/1.1"
    akismet_timeout_seconds: float = 3.0
    akismet_keep_days: int = 14
    # The policy that turns verdicts into statuses, per kind and article mode (worker.policy);
    # empty means the documented defaults.
    policy: Mapping[str, Any] = field(default_factory=dict)
    # The sweeper runs every sweep_interval_seconds: it enqueues new submissions at once, and
    # re-enqueues one still unchecked sweep_after_seconds after its enqueue if the queue is
    # empty (its task was lost), or resweep_after_seconds after it in any case.
    sweep_interval_seconds: float = 1.0
    sweep_after_seconds: int = 30
    resweep_after_seconds: int = 300
    task_queue: str = "tipline"
    # Outgoing e-mail (digests, tip alerts; core.mailer): an SMTP relay, "starttls", "tls" or
    # "none" (a local relay only), optional login, and the From address. No host: nothing sent.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_user: str = ""
    smtp_password: str = ""
    mail_from: str = "tipline@localhost"
    log_level: str = "INFO"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from the environment and the instance folder's secrets file."""
        env = os.environ if environ is None else environ
        instance = Path(env.get("TIPLINE_INSTANCE_PATH", "instance")).resolve()
        secrets = read_secrets(instance)

        def get(name: str, default: str = "") -> str:
            return env.get(f"TIPLINE_{name}", secrets.get(name.lower(), default))

        def number(name: str, default: float, kind: type[float] | type[int] = int) -> Any:
            raw = get(name, str(default))
            try:
                return kind(raw)
            except ValueError:
                raise ConfigError(f"TIPLINE_{name} must be a number, not {raw!r}") from None

        def key(name: str) -> bytes:
            try:
                return bytes.fromhex(get(name))
            except ValueError:
                raise ConfigError(f"TIPLINE_{name} must be hexadecimal") from None

        broker_url = get("BROKER_URL") or f"redis+socket://{instance / EMBEDDED_BROKER_SOCKET}"
        return cls(
            instance_path=instance,
            database_url=get("DATABASE_URL") or f"sqlite:///{instance / 'tipline.sqlite3'}",
            broker_url=broker_url,
            ratelimit_storage_url=get("RATELIMIT_STORAGE_URL") or storage_url_for(broker_url),
            intake_secret_key=get("INTAKE_SECRET_KEY"),
            moderation_secret_key=get("MODERATION_SECRET_KEY"),
            hash_key=key("HASH_KEY"),
            tip_public_key=key("TIP_PUBLIC_KEY"),
            tip_private_key=key("TIP_PRIVATE_KEY"),
            worker_public_key=key("WORKER_PUBLIC_KEY"),
            worker_private_key=key("WORKER_PRIVATE_KEY"),
            site_name=get("SITE_NAME", cls.site_name),
            intake_url=get("INTAKE_URL", cls.intake_url).rstrip("/"),
            moderation_url=get("MODERATION_URL", cls.moderation_url).rstrip("/"),
            default_locale=get("DEFAULT_LOCALE", cls.default_locale),
            submit_rate_limit=get("SUBMIT_RATE_LIMIT", cls.submit_rate_limit),
            login_rate_limit=get("LOGIN_RATE_LIMIT", cls.login_rate_limit),
            ratelimit_prefix=get("RATELIMIT_PREFIX", cls.ratelimit_prefix),
            api_read_rate_limit=get("API_READ_RATE_LIMIT", cls.api_read_rate_limit),
            cache_url=_cache_url(get("CACHE_URL"), broker_url),
            thread_cache_seconds=number("THREAD_CACHE_SECONDS", cls.thread_cache_seconds),
            secure_cookies=_bool(get("SECURE_COOKIES", "0"), "TIPLINE_SECURE_COOKIES"),
            trusted_proxies=number("TRUSTED_PROXIES", cls.trusted_proxies),
            checks=_checks(_list(get("CHECKS")), bool(get("AKISMET_KEY"))),
            blocked_words=_list(get("BLOCKED_WORDS")) or DEFAULT_BLOCKED_WORDS,
            max_links_comment=number("MAX_LINKS_COMMENT", cls.max_links_comment),
            max_links_tip=number("MAX_LINKS_TIP", cls.max_links_tip),
            max_repeated_chars=number("MAX_REPEATED_CHARS", cls.max_repeated_chars),
            url_shorteners=_list(get("URL_SHORTENERS")) or DEFAULT_SHORTENERS,
            allowed_domains=_list(get("ALLOWED_DOMAINS")) or DEFAULT_ALLOWED_DOMAINS,
            knowledge_ttl_seconds=number("KNOWLEDGE_TTL_SECONDS", cls.knowledge_ttl_seconds, float),
            flood_window_seconds=number("FLOOD_WINDOW_SECONDS", cls.flood_window_seconds),
            flood_max_copies=number("FLOOD_MAX_COPIES", cls.flood_max_copies),
            sender_max_per_window=number("SENDER_MAX_PER_WINDOW", cls.sender_max_per_window),
            trusted_after=number("TRUSTED_AFTER", cls.trusted_after),
            reputation_window_days=number("REPUTATION_WINDOW_DAYS", cls.reputation_window_days),
            reputation_reject_rate=number(
                "REPUTATION_REJECT_RATE", cls.reputation_reject_rate, float
            ),
            reputation_min_decisions=number(
                "REPUTATION_MIN_DECISIONS", cls.reputation_min_decisions
            ),
            classifier_spam_threshold=number(
                "CLASSIFIER_SPAM_THRESHOLD", cls.classifier_spam_threshold, float
            ),
            classifier_suspect_threshold=number(
                "CLASSIFIER_SUSPECT_THRESHOLD", cls.classifier_suspect_threshold, float
            ),
            retrain_interval_seconds=number(
                "RETRAIN_INTERVAL_SECONDS", cls.retrain_interval_seconds
            ),
            retrain_local_weight=number("RETRAIN_LOCAL_WEIGHT", cls.retrain_local_weight, float),
            akismet_key=get("AKISMET_KEY"),
            akismet_url=get("AKISMET_URL", cls.akismet_url).rstrip("/"),
            akismet_timeout_seconds=number(
                "AKISMET_TIMEOUT_SECONDS", cls.akismet_timeout_seconds, float
            ),
            akismet_keep_days=number("AKISMET_KEEP_DAYS", cls.akismet_keep_days),
            policy=_json_object(get("POLICY"), "TIPLINE_POLICY"),
            sweep_after_seconds=number("SWEEP_AFTER_SECONDS", cls.sweep_after_seconds),
            resweep_after_seconds=number("RESWEEP_AFTER_SECONDS", cls.resweep_after_seconds),
            sweep_interval_seconds=number(
                "SWEEP_INTERVAL_SECONDS", cls.sweep_interval_seconds, float
            ),
            task_queue=get("TASK_QUEUE", cls.task_queue),
            smtp_host=get("SMTP_HOST"),
            smtp_port=number("SMTP_PORT", cls.smtp_port),
            smtp_security=_choice(
                get("SMTP_SECURITY", cls.smtp_security),
                ("starttls", "tls", "none"),
                "SMTP_SECURITY",
            ),
            smtp_user=get("SMTP_USER"),
            smtp_password=get("SMTP_PASSWORD"),
            mail_from=get("MAIL_FROM", cls.mail_from),
            log_level=get("LOG_LEVEL", cls.log_level).upper(),
        )

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some settings changed (tests and the standalone launcher use this)."""
        return replace(self, **changes)

    def require_secrets(self, *names: str) -> None:
        """Fail with a clear message when a process starts without a secret it needs."""
        missing = [n for n in names if not getattr(self, n)]
        if missing:
            listed = ", ".join(f"TIPLINE_{n.upper()}" for n in missing)
            path = self.instance_path / SECRETS_FILE
            raise ConfigError(f"missing {listed}: run `tipline init` to create {path} or set them")


def read_secrets(instance: Path) -> dict[str, str]:
    """The generated secrets in the instance folder, or nothing if `tipline init` has not run."""
    path = instance / SECRETS_FILE
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a JSON object")
    return {str(k): str(v) for k, v in data.items()}


def storage_url_for(broker_url: str) -> str:
    """Where rate-limit counters live: the broker's Redis when there is one, else memory."""
    if broker_url.startswith("redis+socket://"):
        return "redis+unix://" + broker_url.removeprefix("redis+socket://")
    if broker_url.startswith(("redis://", "rediss://")):
        return broker_url
    return "memory://"


def cache_url_for(broker_url: str) -> str:
    """Where threads are cached by default: the broker's Redis, or nowhere without one."""
    url = storage_url_for(broker_url)
    return "" if url == "memory://" else url


def _cache_url(value: str, broker_url: str) -> str:
    # "off" turns the thread cache off (the benchmark's uncached run); empty means the default.
    if value.strip().lower() in ("off", "none"):
        return ""
    return value or cache_url_for(broker_url)


def _checks(named: tuple[str, ...], akismet: bool) -> tuple[str, ...]:
    # The default checks, and Akismet only when a key is configured.
    if named:
        return named
    return DEFAULT_CHECKS + (("akismet",) if akismet else ())


def _json_object(value: str, name: str) -> dict[str, Any]:
    if not value.strip():
        return {}
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise ConfigError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{name} must be a JSON object")
    return data


def _list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"", "0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise ConfigError(f"TIPLINE_{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value
