"""The enumerations the models, the forms and the checks share."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """What a reader sent."""

    comment = "comment"
    tip = "tip"


class Status(StrEnum):
    """Where a submission is in its life; see core.transitions for the allowed moves."""

    received = "received"
    # comments
    published = "published"
    pending = "pending"
    spam = "spam"
    rejected = "rejected"
    reported = "reported"
    # tips
    new = "new"
    in_progress = "in_progress"
    followed_up = "followed_up"
    closed = "closed"
    purged = "purged"


class Role(StrEnum):
    """A staff member's role; each includes the powers of those before it."""

    moderator = "moderator"
    editor = "editor"
    admin = "admin"


class ModerationMode(StrEnum):
    """How an article takes comments."""

    post = "post"  # shown at once when the checks pass
    pre = "pre"  # every comment waits for a moderator
    closed = "closed"  # no new comments


class Verdict(StrEnum):
    """What one check says of a submission."""

    ok = "ok"
    suspect = "suspect"
    spam = "spam"
    error = "error"


class ListName(StrEnum):
    """The lists admins manage in the staff site and with `tipline lists`."""

    banned_words = "banned_words"  # a match makes a submission spam
    suspect_words = "suspect_words"  # a match holds it for a person
    blocked_domains = "blocked_domains"  # a link to one makes it spam
    allowed_domains = "allowed_domains"  # links to these are never counted against it


class BanTarget(StrEnum):
    """What a ban names: a sender's e-mail hash, network hash, or display name."""

    email = "email"
    ip = "ip"
    name = "name"


class BanEffect(StrEnum):
    """What a sanction does to a sender's new submissions."""

    ban = "ban"  # rejected on arrival, the ban named
    premoderate = "premoderate"  # held for a moderator, whatever the checks say


class FlagReason(StrEnum):
    """Why a reader reported a published comment."""

    spam = "spam"
    abuse = "abuse"
    off_topic = "off_topic"
    other = "other"


class Premoderation(StrEnum):
    """Which comments wait for a moderator across the whole site (an admin setting)."""

    off = "off"  # only what the checks and the article's mode hold
    new_commenters = "new_commenters"  # senders with no published comment yet
    links = "links"  # comments with a link
    all = "all"  # every comment


class TipMessageKind(StrEnum):
    """What a message on a tip's thread is: the source writing again, a reply, a staff note."""

    followup = "followup"  # from the source, with their codename
    reply = "reply"  # from the newsroom to the source
    note = "note"  # internal, between staff; never shown to the source


class DigestFrequency(StrEnum):
    """How often a staff member gets the e-mail digest."""

    off = "off"
    hourly = "hourly"
    daily = "daily"
    weekly = "weekly"


class TipAlerts(StrEnum):
    """Which new tips a staff member is alerted to by e-mail (batched, never the content)."""

    off = "off"
    each = "each"  # every new tip
    urgent = "urgent"  # only tips a rule marked urgent


class DeliveryKind(StrEnum):
    """What an e-mail in the delivery ledger is."""

    digest = "digest"
    tip_alert = "tip_alert"


class DeliveryStatus(StrEnum):
    """Where an e-mail in the ledger stands."""

    pending = "pending"  # claimed, being built or sent, or waiting to be retried
    sent = "sent"
    failed = "failed"  # gave up after the retries: shown on the staff site
    empty = "empty"  # nothing to report and the recipient did not ask for "always"
