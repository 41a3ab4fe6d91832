"""The check interface: what a check is given, what it must return, and how it is named.

A check is a small class with a `name` (stored with each result), a `version` (raised when its
behaviour changes, so that old results can be told apart) and a `run(content, env)` method
that returns a `Result`. Checks do not open the database and do not log the content: what they
need beyond the submission (the lists admins manage, bans, the sender's record, the spam model,
the flood counters) comes in an `Env` that worker.checking prepares once per batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from core.config import Settings
from core.db import utcnow
from core.enums import BanEffect, Kind, ListName, Verdict
from core.site_settings import SiteSettings

if TYPE_CHECKING:
    from worker.classifier.model import SpamClassifier
    from worker.floodstore import FloodStore

# The scores the rule-based checks give: 0 is clean, 1 is certainly spam.
SCORE = {Verdict.ok: 0.0, Verdict.suspect: 0.5, Verdict.spam: 1.0, Verdict.error: 0.0}


@dataclass(frozen=True)
class Content:
    """What a check reads of a submission: its kind, its text and the sender's own words."""

    kind: Kind
    text: str
    # A commenter's display name or a tipster's optional name.
    name: str = ""
    # A tipster's free-form contact (e-mail, phone, Signal...); empty for comments.
    contact: str = ""
    # Who sent it, as stored: keyed hashes, never the addresses (core.privacy). None if unknown.
    email_hash: str | None = None
    ip_hash: str | None = None
    submission_id: int | None = None
    article_id: int | None = None
    locale: str = "es"
    received_at: datetime | None = None
    # Comments only, when Akismet is configured: the sender's network address, user agent,
    # referrer and the comment's permalink, opened from Submission.sender_copy. Never stored.
    sender: Mapping[str, str] | None = None


class Action(StrEnum):
    """What a result asks of the policy beyond its verdict."""

    none = "none"
    # The sender has earned trust: an `ok` comment is published even on a pre-moderated article.
    trust = "trust"
    # The sender is banned: the submission goes to spam on arrival (worker.policy's "banned"),
    # the ban named in the reason.
    reject = "reject"


@dataclass(frozen=True)
class Result:
    """One check's verdict, a score from 0 (clean) to 1 (spam) and a reason a moderator reads.

    `reason` is an English message id marked with core.i18n.N_, with named placeholders filled
    from `params` when it is shown, in the moderator's language.
    """

    verdict: Verdict
    score: float
    reason: str
    params: dict[str, Any] = field(default_factory=dict)
    action: Action = Action.none

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"a check's score must be between 0 and 1, not {self.score}")


class Check(ABC):
    """A check of one submission; subclasses set `name` and `version` and implement `run`."""

    name: ClassVar[str]
    version: ClassVar[str]
    # Seconds the pipeline lets this check run before it counts as an error (see
    # worker.pipeline.time_budget); None for no limit.
    time_budget: ClassVar[float | None] = 5.0

    @abstractmethod
    def run(self, content: Content, env: Env) -> Result:
        """Look at `content` and say what it is."""


@dataclass(frozen=True)
class Lists:
    """The lists admins manage (core.models.ListEntry), as the checks read them."""

    banned_words: tuple[str, ...] = ()
    suspect_words: tuple[str, ...] = ()
    blocked_domains: frozenset[str] = frozenset()
    allowed_domains: frozenset[str] = frozenset()

    @classmethod
    def build(cls, settings: Settings, managed: Mapping[ListName, Sequence[str]]) -> Lists:
        """The built-in entries of `settings` with the lists admins manage (`managed`)."""

        def merged(name: ListName) -> tuple[str, ...]:
            return builtin(settings, name) + tuple(managed.get(name, ()))

        return cls(
            banned_words=merged(ListName.banned_words),
            suspect_words=merged(ListName.suspect_words),
            blocked_domains=frozenset(d.lower() for d in merged(ListName.blocked_domains)),
            allowed_domains=frozenset(d.lower() for d in merged(ListName.allowed_domains)),
        )


def own_host(settings: Settings) -> str:
    """The public site's host, allowed as if it were on the list."""
    host = settings.intake_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return host.lower().removeprefix("www.")


def builtin(settings: Settings, name: ListName) -> tuple[str, ...]:
    """The entries the settings add to a list (shown on the staff site, not managed there)."""
    if name is ListName.banned_words:
        return tuple(settings.blocked_words)
    if name is ListName.allowed_domains:
        host = own_host(settings)
        return tuple(d.lower() for d in settings.allowed_domains) + ((host,) if host else ())
    return ()


@dataclass(frozen=True)
class Sanction:
    """A ban or a pre-moderation in force, with what the reputation check says of it."""

    reason: str = ""
    effect: BanEffect = BanEffect.ban
    # The staff account that made it (its e-mail), and when it ends (None: for good).
    by: str = ""
    until: datetime | None = None


@dataclass(frozen=True)
class Bans:
    """Sanctions in force by what they name (a ban wins over a pre-moderation of the same)."""

    emails: Mapping[str, Sanction] = field(default_factory=dict)
    ips: Mapping[str, Sanction] = field(default_factory=dict)
    names: Mapping[str, Sanction] = field(default_factory=dict)


@dataclass(frozen=True)
class Standing:
    """A sender's record (by e-mail hash) as moderators decided it."""

    approved: int = 0
    rejected: int = 0
    # Decisions of the last reputation window (settings.reputation_window_days).
    recent_decided: int = 0
    recent_rejected: int = 0


@dataclass
class Env:
    """Everything a check may read besides the submission; built once per batch."""

    settings: Settings
    lists: Lists = field(default_factory=Lists)
    bans: Bans = field(default_factory=Bans)
    # Keyed by e-mail hash; a sender with no entry has no record.
    standings: Mapping[str, Standing] = field(default_factory=dict)
    model: SpamClassifier | None = None
    flood: FloodStore | None = None
    now: datetime = field(default_factory=utcnow)
    # The admins' moderation settings (core.site_settings), read with the lists.
    site: SiteSettings = field(default_factory=SiteSettings)
    # Network hashes among the batch's senders that have a published comment.
    published_networks: frozenset[str] = frozenset()

    @classmethod
    def of(cls, settings: Settings, **kwargs: Any) -> Env:
        """An Env from settings alone, for tests and tools: the built-in lists, the base model
        and a flood store in memory, unless given."""
        from worker.classifier.model import load_base
        from worker.floodstore import MemoryFloodStore

        kwargs.setdefault("lists", Lists.build(settings, {}))
        kwargs.setdefault("model", load_base())
        kwargs.setdefault("flood", MemoryFloodStore())
        return cls(settings=settings, **kwargs)


def result(verdict: Verdict, reason: str, **params: Any) -> Result:
    """A Result with the standard score for `verdict`."""
    return Result(verdict=verdict, score=SCORE[verdict], reason=reason, params=params)
