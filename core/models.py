"""The typed SQLAlchemy models: articles, submissions, check results, staff and the audit log."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import limits
from core.db import Base, UTCDateTime, utcnow
from core.enums import (
    BanEffect,
    BanTarget,
    DeliveryKind,
    DeliveryStatus,
    DigestFrequency,
    FlagReason,
    Kind,
    ListName,
    ModerationMode,
    Role,
    Status,
    TipAlerts,
    TipMessageKind,
    Verdict,
)

intpk = Annotated[int, mapped_column(primary_key=True)]
created_at = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow)]


def _enum(enum_class: type[Any], name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: portable between SQLite and PostgreSQL,
    # and adding a value is an ordinary migration.
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def new_ref() -> str:
    """A receipt reference: random, short, unambiguous when read aloud (no 0/O, 1/I)."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(10))


class Article(Base):
    """A page readers comment on."""

    __tablename__ = "articles"

    id: Mapped[intpk]
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(2000))
    body: Mapped[str] = mapped_column(Text, default="")
    mode: Mapped[ModerationMode] = mapped_column(
        _enum(ModerationMode, "moderation_mode"), default=ModerationMode.post
    )
    created_at: Mapped[created_at]


# Columns a sender's record counts by, carried in the sender indexes on PostgreSQL.
SENDER_RECORD_COLUMNS = ["kind", "status", "id"]


class Submission(Base):
    """Something a reader sent: a comment on an article or a tip to the newsroom."""

    __tablename__ = "submissions"
    __table_args__ = (
        CheckConstraint(
            f"body IS NULL OR length(body) <= {limits.BODY[Kind.comment].max}",
            name="comment_body_length",
        ),
        CheckConstraint("kind <> 'tip' OR body IS NULL", name="tip_body_never_plaintext"),
        Index("ix_submissions_status_created", "status", "created_at"),
        Index("ix_submissions_article_status", "article_id", "status", "created_at"),
        # Reputation and flood checks, and a comment's page, look up one sender's history by
        # these hashes. On PostgreSQL the index also carries what the records count (kind,
        # status, id), so that a sender with thousands of comments is counted from the index
        # alone (0.7 ms) instead of from thousands of table rows (8–30 ms).
        Index(
            "ix_submissions_email_hash",
            "email_hash",
            "created_at",
            postgresql_include=SENDER_RECORD_COLUMNS,
        ),
        Index(
            "ix_submissions_ip_hash",
            "ip_hash",
            "created_at",
            postgresql_include=SENDER_RECORD_COLUMNS,
        ),
        # The "All" tab: every status of a kind, newest or oldest first.
        Index("ix_submissions_kind_created", "kind", "created_at", "id"),
        # A thread's replies, and how many of them readers can see.
        Index("ix_submissions_parent_status", "parent_id", "status"),
    )

    id: Mapped[intpk]
    ref: Mapped[str] = mapped_column(String(16), unique=True, default=new_ref)
    kind: Mapped[Kind] = mapped_column(_enum(Kind, "kind"))
    status: Mapped[Status] = mapped_column(_enum(Status, "status"), default=Status.received)
    # Raised by every status change; a decision names the version it saw (optimistic locking).
    version: Mapped[int] = mapped_column(default=1)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(8), default="es")
    # Comments only. A tip's text, name and contact are never stored in plaintext: see `sealed`.
    author_name: Mapped[str | None] = mapped_column(String(limits.NAME_MAX))
    body: Mapped[str | None] = mapped_column(Text)
    email_hash: Mapped[str | None] = mapped_column(String(64))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    # Tips only: the content sealed to the newsroom's tip key, which the public site cannot open,
    # and a copy sealed to the worker's key, deleted as soon as the checks are done.
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    check_copy: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Only when Akismet is configured: what Akismet needs of the sender (network address, user
    # agent, referrer), sealed to the worker's key. Deleted once moderators' feedback has been
    # sent, and after settings.akismet_keep_days in any case.
    sender_copy: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The last label ("spam" or "ham") sent to Akismet for this submission.
    akismet_reported: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the sweeper last handed it to the broker; NULL until then. The public site never
    # talks to the broker: it commits, and the sweeper relays new submissions (an outbox).
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Comments only: the comment this one replies to. Threads are one level deep: a reply to a
    # reply is stored as a reply to the top-level comment (core.threads).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="SET NULL"))
    # Set while a moderator has featured the comment: it is pinned on top of its thread.
    featured_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    article: Mapped[Article | None] = relationship()
    decided_by: Mapped[StaffUser | None] = relationship()
    check_results: Mapped[list[CheckResult]] = relationship(
        back_populates="submission", order_by="CheckResult.id", cascade="all, delete-orphan"
    )


class CheckResult(Base):
    """What one check said of one submission, with the reason a moderator reads."""

    __tablename__ = "check_results"
    __table_args__ = (
        UniqueConstraint("submission_id", "name"),
        # The staff site's per-check figures read the results of a period.
        Index("ix_check_results_created", "created_at"),
        # The queue's "check that fired" filter: which submissions a check flagged.
        Index("ix_check_results_name_verdict", "name", "verdict", "submission_id"),
    )

    id: Mapped[intpk]
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(40))
    verdict: Mapped[Verdict] = mapped_column(_enum(Verdict, "verdict"))
    score: Mapped[float] = mapped_column(Float)
    # A message id (English, with %(name)s placeholders) and its parameters, so the reason is
    # shown in each moderator's own language.
    reason: Mapped[str] = mapped_column(String(limits.REASON_MAX))
    reason_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[created_at]

    submission: Mapped[Submission] = relationship(back_populates="check_results")


class StaffUser(Base):
    """A moderator, editor or admin of the staff site."""

    __tablename__ = "staff_users"

    id: Mapped[intpk]
    email: Mapped[str] = mapped_column(String(limits.EMAIL_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Part of the login session's id: changing it (new password, deactivation) ends every
    # session of this user at once.
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(16))
    created_at: Mapped[created_at]
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Two-factor login: the TOTP secret (base32) once the user has confirmed it, and the last
    # time step accepted, so that a code cannot be used twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column()
    # The personal key pair of an editor or admin (core.tipkeys): tip keys are sealed to the
    # public half; the private half is stored only encrypted under a key derived from the
    # password (Argon2id, with this salt), so the database alone opens nothing.
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    wrapped_private_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_salt: Mapped[bytes | None] = mapped_column(LargeBinary(16))

    def has_role(self, role: Role) -> bool:
        """Whether this user holds `role` or one above it."""
        order = list(Role)
        return order.index(self.role) >= order.index(role)


class AuditEvent(Base):
    """One row per status change, login and setting change. Rows are never edited or deleted."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_submission", "submission_id", "id"),
        Index("ix_audit_events_at", "at"),
    )

    id: Mapped[intpk]
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    # Who acted, as they were named then ("system" for the checks): survives account changes.
    actor_label: Mapped[str] = mapped_column(String(limits.EMAIL_MAX))
    action: Mapped[str] = mapped_column(String(40))
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL")
    )
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(limits.REASON_MAX), default="")

    actor: Mapped[StaffUser | None] = relationship()


class ListEntry(Base):
    """One term of a list admins manage: banned or suspect words, blocked or allowed domains."""

    __tablename__ = "list_entries"
    __table_args__ = (UniqueConstraint("list", "value"),)

    id: Mapped[intpk]
    list: Mapped[ListName] = mapped_column(_enum(ListName, "list_name"))
    # As the admin typed it (a word, a phrase, or a domain such as "bit.ly").
    value: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]

    created_by: Mapped[StaffUser | None] = relationship()


class Ban(Base):
    """A sender whose submissions are rejected on arrival, named by a hash (never raw data)."""

    __tablename__ = "bans"
    __table_args__ = (Index("ix_bans_target_value", "target", "value"),)

    id: Mapped[intpk]
    target: Mapped[BanTarget] = mapped_column(_enum(BanTarget, "ban_target"))
    # The e-mail hash or IP hash (core.privacy), or for `name` the commenter's folded name.
    value: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(limits.REASON_MAX), default="")
    # The submission that led to the ban, if any.
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A ban rejects the sender's new submissions; pre-moderation holds them for a person.
    effect: Mapped[BanEffect] = mapped_column(
        _enum(BanEffect, "ban_effect"), default=BanEffect.ban, server_default=BanEffect.ban.value
    )

    created_by: Mapped[StaffUser | None] = relationship()


class SpamModel(Base):
    """A trained spam classifier: its weights, what it was trained on and how it scored.

    Exactly one row is `active` at a time: the one the worker uses. Candidates that lost their
    evaluation are kept (not active) so that the staff site can show why they were not promoted.
    """

    __tablename__ = "spam_models"

    id: Mapped[intpk]
    version: Mapped[str] = mapped_column(String(40), unique=True)
    # The model file (worker.classifier's .npz format): hashed-feature weights, not a pickle.
    weights: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(default=False)
    promoted: Mapped[bool] = mapped_column(default=False)
    # Counts of the examples it learnt from ({"base_spam": .., "base_ham": .., "local_spam": ..}).
    trained_on: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Its figures on the held-out slice, and those of the model it was compared with.
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(String(limits.REASON_MAX), default="")
    created_at: Mapped[created_at]


class Flag(Base):
    """A reader's report of a published comment: why, and optionally what they added."""

    __tablename__ = "flags"
    __table_args__ = (
        # One reader (by network hash) counts once per comment, however often they report it.
        UniqueConstraint("submission_id", "reporter_hash"),
        Index("ix_flags_open", "submission_id", "resolved_at"),
    )

    id: Mapped[intpk]
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    reason: Mapped[FlagReason] = mapped_column(_enum(FlagReason, "flag_reason"))
    text: Mapped[str] = mapped_column(String(limits.FLAG_TEXT_MAX), default="")
    # The keyed hash of the reporter's network (core.privacy), never the address.
    reporter_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[created_at]
    # Set when a moderator decided the reported comment: kept (flags dismissed) or removed.
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    outcome: Mapped[str | None] = mapped_column(String(20))


class Note(Base):
    """A moderator's note on a submission, for colleagues; never shown to readers."""

    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_submission", "submission_id", "id"),)

    id: Mapped[intpk]
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    author_label: Mapped[str] = mapped_column(String(limits.EMAIL_MAX))
    body: Mapped[str] = mapped_column(String(limits.NOTE_MAX))
    created_at: Mapped[created_at]


class Claim(Base):
    """A soft claim: someone has a submission open. It expires; it never blocks a decision."""

    __tablename__ = "claims"

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    staff_label: Mapped[str] = mapped_column(String(limits.EMAIL_MAX))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SiteSetting(Base):
    """One setting admins change in the staff site (core.site_settings reads and writes them)."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )


class StatusTally(Base):
    """A change to how many submissions of a kind are in a status: +1 or -1, or a sum of them.

    Database triggers (core.tallies) add a row for every status change, whatever made it, so
    the queues' counts are a sum over a short table instead of a count over every submission.
    Rows are only ever inserted, so concurrent decisions never wait for each other here; a
    periodic job folds them into one row per (kind, status).
    """

    __tablename__ = "status_tallies"

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    n: Mapped[int] = mapped_column()


class TipKey(Base):
    """A newsroom tip key pair: its public half here, its private half only in grants.

    Tips are sealed to the current key (the newest not retired). Rotation makes a new one,
    seals everything again to it and retires the old one, whose grants are deleted.
    """

    __tablename__ = "tip_keys"

    id: Mapped[intpk]
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[created_at]
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TipKeyGrant(Base):
    """A tip key's private half, sealed to one editor's personal public key."""

    __tablename__ = "tip_key_grants"

    tip_key_id: Mapped[int] = mapped_column(
        ForeignKey("tip_keys.id", ondelete="CASCADE"), primary_key=True
    )
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    granted_by_label: Mapped[str] = mapped_column(String(limits.EMAIL_MAX))


class UnlockedTipKeys(Base):
    """The tip keys one login unlocked, encrypted under a secret that only its session holds.

    The row is found by a keyed hash of that secret and opened with the secret itself, so
    neither a copy of the database nor the session cookie alone reveals a key. Deleted at
    logout, on withdrawal and rotation, and when it expires.
    """

    __tablename__ = "unlocked_tip_keys"
    __table_args__ = (Index("ix_unlocked_tip_keys_expires", "expires_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    box: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TipDetails(Base):
    """What only a tip has: its key, triage state, and the source's way back (a codename)."""

    __tablename__ = "tip_details"

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    # The tip key its sealed content (and its messages' and files') is sealed to.
    tip_key_id: Mapped[int | None] = mapped_column(ForeignKey("tip_keys.id"))
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    starred: Mapped[bool] = mapped_column(default=False)
    # Retention (core.retention) leaves a closed tip marked "keep" alone.
    keep: Mapped[bool] = mapped_column(default=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A slow hash of the source's codename (core.codenames): how they are recognised when they
    # come back. Never the codename itself.
    codename_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    # Replies are sealed to this key, derived from the codename: the server cannot open them.
    reply_public_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    # A codename that never got a reply stops working after this.
    codename_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the source last sent something (the tip, a follow-up, a file): staff who have not
    # read the tip since see it as unread.
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set by the worker's rule for urgent tips; staff may ask to be alerted only to those.
    urgent: Mapped[bool] = mapped_column(default=False)

    submission: Mapped[Submission] = relationship()


class TipLabel(Base):
    """A label an editor put on a tip ("elections", "needs lawyer"); free text, per newsroom."""

    __tablename__ = "tip_labels"
    __table_args__ = (Index("ix_tip_labels_label", "label"),)

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(limits.TIP_LABEL_MAX), primary_key=True)


class TipRead(Base):
    """When a staff member last opened a tip: it is unread for them after newer activity."""

    __tablename__ = "tip_reads"

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TipMessage(Base):
    """A follow-up from the source, a reply to them, or a staff note; all sealed.

    `sealed` is sealed to the tip key (staff read it); a reply is also sealed to the source's
    reply key (`sealed_for_source`), which only their codename opens.
    """

    __tablename__ = "tip_messages"
    __table_args__ = (Index("ix_tip_messages_submission", "submission_id", "id"),)

    id: Mapped[intpk]
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    kind: Mapped[TipMessageKind] = mapped_column(_enum(TipMessageKind, "tip_message_kind"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    # Who wrote a reply or note (a staff e-mail); empty for the source's follow-ups.
    author_label: Mapped[str] = mapped_column(String(limits.EMAIL_MAX), default="")
    tip_key_id: Mapped[int | None] = mapped_column(ForeignKey("tip_keys.id"))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_for_source: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[created_at]


class Attachment(Base):
    """A file a source sent, cleaned of metadata and encrypted on disk (core.attachments).

    The file on disk is named at random and encrypted with its own key; its name, type and
    that key are sealed to the tip key here. Nothing readable about it is stored.
    """

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_submission", "submission_id", "id"),)

    id: Mapped[intpk]
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("tip_messages.id", ondelete="CASCADE")
    )
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    tip_key_id: Mapped[int | None] = mapped_column(ForeignKey("tip_keys.id"))
    sealed_meta: Mapped[bytes] = mapped_column(LargeBinary)
    # The size of the encrypted file: shown to editors, and says nothing of the content.
    size: Mapped[int] = mapped_column()
    created_at: Mapped[created_at]


class DigestPreference(Base):
    """What e-mail a staff member wants: a digest how often, when, in which zone; tip alerts."""

    __tablename__ = "digest_preferences"

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    frequency: Mapped[DigestFrequency] = mapped_column(
        _enum(DigestFrequency, "digest_frequency"), default=DigestFrequency.off
    )
    # The local hour a daily or weekly digest is due, and the weekday of a weekly one (0 Monday).
    hour: Mapped[int] = mapped_column(default=8)
    weekday: Mapped[int] = mapped_column(default=0)
    # An IANA time zone name ("America/Havana"); hours are local to it, across DST changes.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Send the digest even when nothing happened.
    always: Mapped[bool] = mapped_column(default=False)
    tip_alerts: Mapped[TipAlerts] = mapped_column(
        _enum(TipAlerts, "tip_alerts"), default=TipAlerts.off
    )
    # The language of the e-mails; the site's default when empty.
    locale: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DigestDelivery(Base):
    """One e-mail owed to a staff member for one period: the ledger that sends it once.

    The unique (recipient, kind, period start) is what makes a retried, duplicated or
    concurrent job harmless: whoever inserts the row sends; everyone else finds it there. The
    next period starts where the last one ended, so after downtime one e-mail covers the gap.
    """

    __tablename__ = "digest_deliveries"
    __table_args__ = (
        UniqueConstraint("staff_id", "kind", "period_start"),
        Index("ix_digest_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[intpk]
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    kind: Mapped[DeliveryKind] = mapped_column(_enum(DeliveryKind, "delivery_kind"))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last SMTP error, for the staff site (never the message's content).
    last_error: Mapped[str] = mapped_column(String(limits.REASON_MAX), default="")
    created_at: Mapped[created_at]
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A token an admin made for the outlet's CMS to call the API; only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(100))
    # A keyed hash of the whole token (core.privacy.keyed_hash, purpose "api-token").
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token's first characters, shown to admins so that they can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookEndpoint(Base):
    """A URL of the outlet's that is told when a comment is published or removed (signed)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[intpk]
    url: Mapped[str] = mapped_column(String(2000))
    # Signs each delivery (HMAC-SHA256); shown once to the admin who made the endpoint.
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[created_at]


class WebhookDelivery(Base):
    """One event owed to one endpoint: written with the status change, sent by the worker."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),)

    id: Mapped[intpk]
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    # "comment.published" or "comment.removed".
    event: Mapped[str] = mapped_column(String(40))
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL")
    )
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(String(limits.REASON_MAX), default="")
    created_at: Mapped[created_at]
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReplySubscription(Base):
    """A commenter asked to be e-mailed when someone replies to their comment.

    Only then is their address kept, and only sealed to the worker's key (the public site
    cannot read it back). Unsubscribing deletes it.
    """

    __tablename__ = "reply_subscriptions"

    id: Mapped[intpk]
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), unique=True
    )
    email_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The keyed hash of the address: the commenter's own replies never notify them.
    email_hash: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8), default="es")
    created_at: Mapped[created_at]
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReplyNotice(Base):
    """One e-mail owed to a subscriber for one published reply: the ledger that sends it once."""

    __tablename__ = "reply_notices"
    __table_args__ = (
        UniqueConstraint("subscription_id", "reply_id"),
        Index("ix_reply_notices_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[intpk]
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("reply_subscriptions.id", ondelete="CASCADE")
    )
    reply_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(String(limits.REASON_MAX), default="")
    created_at: Mapped[created_at]
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
