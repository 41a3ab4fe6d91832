"""What the public site does with what readers send: plain functions, no request needed."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

from sqlalchemy import and_, bindparam, func, insert, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.dml import ReturningInsert

from core import tipkeys
from core.config import Settings
from core.crypto import seal
from core.db import execute_alone, utcnow
from core.enums import Kind, ModerationMode, Status
from core.models import Article, ReplySubscription, Submission, TipDetails, new_ref
from core.privacy import email_hash, ip_hash, keyed_hash

# What readers see of a thread. A reported comment stays up until a moderator decides: one
# reader's flag must not be enough to silence another.
VISIBLE = (Status.published, Status.reported)

# A user agent or referrer longer than this is cut: Akismet needs no more to recognise one.
SENDER_FIELD_MAX = 1000

REF_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
REF_LENGTH = 10
_DECOY_TAIL = 4


class ReceiptState(StrEnum):
    """What a receipt tells the sender; never whether their comment was judged spam."""

    published = "published"
    checking = "checking"  # received, being checked or awaiting review (spam looks the same)
    received = "received"  # tips: nothing more is ever said on the public site


@dataclass(frozen=True)
class Receipt:
    """The public facts of a submission: its reference, kind and what to tell the sender."""

    ref: str
    kind: Kind
    state: ReceiptState
    article_slug: str | None = None
    article_title: str | None = None


def list_articles(session: Session) -> list[Article]:
    """Every article, newest first."""
    return list(session.scalars(select(Article).order_by(Article.created_at.desc(), Article.id)))


def find_article(session: Session, slug: str) -> Article | None:
    """The article at `slug`, if there is one."""
    return session.scalar(select(Article).where(Article.slug == slug))


def accepts_comments(article: Article) -> bool:
    """Whether readers may comment on `article`."""
    return article.mode is not ModerationMode.closed


def visible_comments(session: Session, article_id: int) -> list[Submission]:
    """The comments readers see under an article, oldest first."""
    query = (
        select(Submission)
        .where(
            Submission.article_id == article_id,
            Submission.kind == Kind.comment,
            Submission.status.in_(VISIBLE),
        )
        .order_by(Submission.created_at, Submission.id)
    )
    return list(session.scalars(query))


def _comment_insert(*extra: str, reply: bool = False) -> ReturningInsert[tuple[int]]:
    # Built once: the request only binds values. The article is found in the same statement,
    # and for a reply the comment it answers: a top-level comment readers can see on the same
    # article. A reply to a reply answers that reply's own parent: threads are one level deep.
    columns = Submission.__table__.c
    names = ("ref", "kind", "status", "author_name", "body", "email_hash", "ip_hash", "locale")
    values = {name: bindparam(name, type_=columns[name].type) for name in names + extra}
    targets = ["article_id", *values]
    source = select(Article.id, *values.values()).where(
        Article.slug == bindparam("slug"), Article.mode != ModerationMode.closed
    )
    if reply:
        parent = aliased(Submission)
        source = source.add_columns(func.coalesce(parent.parent_id, parent.id)).join(
            parent,
            and_(
                parent.id == bindparam("parent_id"),
                parent.article_id == Article.id,
                parent.kind == Kind.comment,
                parent.status.in_(VISIBLE),
            ),
        )
        targets.append("parent_id")
    return insert(Submission).from_select(targets, source).returning(Submission.id)


# (with the sender's details sealed for Akismet, as a reply): the statement.
COMMENT_INSERTS = {
    (sender, reply): _comment_insert(*(("sender_copy",) if sender else ()), reply=reply)
    for sender in (False, True)
    for reply in (False, True)
}


@dataclass(frozen=True)
class RecordedComment:
    """A stored comment: its receipt reference and id."""

    ref: str
    id: int


def record_comment(
    session: Session,
    settings: Settings,
    slug: str,
    *,
    name: str,
    email: str | None,
    text: str,
    address: str | None,
    locale: str,
    sender: Mapping[str, str] | None = None,
    parent_id: int | None = None,
    notify_replies: bool = False,
) -> RecordedComment | None:
    """Store a comment on the article at `slug` as `received`, committed; its reference and id.

    None if there is no such article, it takes no comments, or `parent_id` names no comment
    readers can see on it (can_reply_to tells). One INSERT ... SELECT does the lookups
    and the write: the reader's request costs one round trip to the database, and never one
    to the broker (the sweeper hands new submissions to the workers). `sender` is what Akismet
    needs of the reader (see sender_details), given only when Akismet is configured.

    With `notify_replies` and an e-mail address, the address is kept, sealed to the worker's
    key (the public site cannot read it back), to tell the reader of replies; otherwise only
    its keyed hash is stored.
    """
    ref = new_ref()
    hashed = email_hash(settings.hash_key, email) if email else None
    values: dict[str, object] = {
        "slug": slug,
        "ref": ref,
        "kind": Kind.comment,
        "status": Status.received,
        "author_name": name,
        "body": text,
        # Only keyed hashes: the address itself is never stored, nor the client's IP.
        "email_hash": hashed,
        "ip_hash": ip_hash(settings.hash_key, address),
        "locale": locale,
    }
    with_sender = sender is not None and bool(settings.akismet_key)
    if with_sender:
        # Sealed to the worker's key: the public site cannot read it back, and the worker
        # deletes it once Akismet has been told what moderators decided (or after
        # settings.akismet_keep_days).
        values["sender_copy"] = seal(settings.worker_public_key, dict(sender or {}))
    if parent_id is not None:
        values["parent_id"] = parent_id
    statement = COMMENT_INSERTS[(with_sender, parent_id is not None)]
    stored = execute_alone(session, statement, values)
    if not stored:
        return None
    comment_id = int(stored[0][0])
    if notify_replies and email and hashed:
        # A second, separate write: the comment is already safe if this one fails.
        session.add(
            ReplySubscription(
                submission_id=comment_id,
                email_sealed=seal(settings.worker_public_key, {"email": email}),
                email_hash=hashed,
                locale=locale,
            )
        )
        session.commit()
    return RecordedComment(ref, comment_id)


def can_reply_to(session: Session, article_id: int, parent_id: int) -> bool:
    """Whether `parent_id` is a comment readers can see on the article (one may answer it)."""
    found = session.scalar(
        select(Submission.id).where(
            Submission.id == parent_id,
            Submission.article_id == article_id,
            Submission.kind == Kind.comment,
            Submission.status.in_(VISIBLE),
        )
    )
    return found is not None


def sender_details(
    settings: Settings,
    slug: str,
    *,
    address: str | None,
    user_agent: str | None,
    referrer: str | None,
) -> dict[str, str]:
    """What Akismet needs of a comment's sender, to be sealed (never stored in the clear).

    `address` is the client's, as the rate limits and the IP hash take it (behind
    settings.trusted_proxies, the one the proxies saw).
    """
    return {
        "user_ip": address or "",
        "user_agent": (user_agent or "")[:SENDER_FIELD_MAX],
        "referrer": (referrer or "")[:SENDER_FIELD_MAX],
        "permalink": f"{settings.intake_url}/articles/{quote(slug)}",
    }


class TipsUnavailable(RuntimeError):
    """No one has set up the newsroom's tip key yet: a tip could not be sealed to anyone."""


@dataclass(frozen=True)
class RecordedTip:
    """A stored tip: its receipt reference and its details row (for a codename, files)."""

    ref: str
    details: TipDetails


def record_tip(
    session: Session,
    settings: Settings,
    *,
    text: str,
    contact: str | None,
    name: str | None,
    commit: bool = True,
) -> RecordedTip:
    """Store a tip sealed to the newsroom's tip key (and the worker's); its reference.

    Nothing about the tipster is kept in the clear: no IP hash, no e-mail hash, no locale (it
    says which language they read the site in). The public site cannot open what it stored.
    With `commit=False` the caller adds the tip's files (or codename) and commits once, so a
    tip is stored whole or not at all. TipsUnavailable before a tip key exists.
    """
    key = tipkeys.current_or_configured(session, settings.tip_public_key)
    if key is None:
        raise TipsUnavailable("no tip key: run `tipline tips setup`")
    content = {"text": text, "contact": contact or "", "name": name or ""}
    submission = Submission(
        ref=new_ref(),
        kind=Kind.tip,
        status=Status.received,
        sealed=tipkeys.seal_to(key, content),
        check_copy=seal(settings.worker_public_key, content),
        locale=settings.default_locale,
    )
    details = TipDetails(submission=submission, tip_key_id=key.id, last_activity_at=utcnow())
    session.add_all([submission, details])
    if commit:
        session.commit()
    else:
        session.flush()
    return RecordedTip(submission.ref, details)


def receipt_state(kind: Kind, status: Status) -> ReceiptState:
    """What the receipt says for a submission of `kind` in `status`."""
    if kind is Kind.tip:
        return ReceiptState.received
    return ReceiptState.published if status in VISIBLE else ReceiptState.checking


def find_receipt(session: Session, settings: Settings, ref: str) -> Receipt | None:
    """The receipt for `ref`: a stored submission's, a decoy's (see decoy_ref), or None."""
    ref = ref.strip().upper()
    if len(ref) != REF_LENGTH:
        return None
    row = session.execute(
        select(Submission.kind, Submission.status, Article.slug, Article.title)
        .outerjoin(Article, Submission.article_id == Article.id)
        .where(Submission.ref == ref)
    ).first()
    if row is None:
        kind = decoy_kind(settings.hash_key, ref)
        return Receipt(ref, kind, receipt_state(kind, Status.received)) if kind else None
    state = receipt_state(row.kind, row.status)
    if state is ReceiptState.published:
        return Receipt(ref, row.kind, state, row.slug, row.title)
    # Until it is published, the receipt says nothing that a decoy's could not say too.
    return Receipt(ref, row.kind, state)


def decoy_ref(key: bytes, kind: Kind) -> str:
    """A reference for a submission we refused quietly (a bot filled the honeypot).

    The bot gets the same redirect and the same receipt as a person, so it cannot tell that it
    was caught; nothing is stored. The reference's tail is a keyed hash of its head, which lets
    the receipt page recognise it without any state.
    """
    head = "".join(secrets.choice(REF_ALPHABET) for _ in range(REF_LENGTH - _DECOY_TAIL))
    return head + _decoy_tail(key, kind, head)


def decoy_kind(key: bytes, ref: str) -> Kind | None:
    """The kind a decoy reference was made for, or None if `ref` is not a decoy's."""
    head, tail = ref[:-_DECOY_TAIL], ref[-_DECOY_TAIL:]
    for kind in Kind:
        if secrets.compare_digest(_decoy_tail(key, kind, head), tail):
            return kind
    return None


def _decoy_tail(key: bytes, kind: Kind, head: str) -> str:
    digest = bytes.fromhex(keyed_hash(key, "decoy", f"{kind.value}:{head}"))
    return "".join(REF_ALPHABET[b % len(REF_ALPHABET)] for b in digest[:_DECOY_TAIL])
