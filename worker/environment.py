"""What the checks read besides a submission: lists, bans, senders' records, the spam model.

The lists, the bans and which model is in use change rarely and are read by every check run,
so a worker process keeps them for settings.knowledge_ttl_seconds before it reads them again;
a model's weights are read only when another model becomes the active one. Senders' records
are read per batch, for the senders in it only (one grouped query).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import utcnow
from core.enums import BanEffect, BanTarget, ListName, Status
from core.models import Ban, ListEntry, SpamModel, StaffUser, Submission
from core.site_settings import DEFAULTS as DEFAULT_SITE_SETTINGS
from core.site_settings import SiteSettings
from core.site_settings import load as load_site_settings
from worker.checks.base import Bans, Content, Env, Lists, Sanction, Standing
from worker.classifier.model import SpamClassifier, load_base
from worker.floodstore import flood_store

log = logging.getLogger(__name__)

# What counts in a sender's record: published comments as approved, rejected or spam as rejected.
APPROVED = (Status.published,)
REJECTED = (Status.rejected, Status.spam)
# Who a sanction names as its author when its staff account is gone.
UNKNOWN_AUTHOR = "?"


@dataclass(frozen=True)
class Knowledge:
    """The lists, bans and model as read at `read_at` (time.monotonic())."""

    lists: Lists
    bans: Bans
    model: SpamClassifier
    model_id: int | None
    read_at: float
    site: SiteSettings = DEFAULT_SITE_SETTINGS


_lock = threading.Lock()
_cache: dict[str, Knowledge] = {}


def environment(session: Session, settings: Settings, contents: Iterable[Content]) -> Env:
    """The Env for checking `contents`: cached knowledge plus the records of their senders."""
    known = knowledge(session, settings)
    contents = list(contents)
    return Env(
        settings=settings,
        lists=known.lists,
        bans=known.bans,
        standings=standings(session, settings, {c.email_hash for c in contents if c.email_hash}),
        model=known.model,
        flood=flood_store(settings),
        site=known.site,
        published_networks=published_networks(
            session, {c.ip_hash for c in contents if c.ip_hash and not c.email_hash}
        ),
    )


def knowledge(session: Session, settings: Settings, *, fresh: bool = False) -> Knowledge:
    """The lists, bans and active model, read again when older than the TTL (or if `fresh`)."""
    key = settings.database_url
    with _lock:
        cached = _cache.get(key)
    now = time.monotonic()
    if cached and not fresh and now - cached.read_at < settings.knowledge_ttl_seconds:
        return cached
    known = _read(session, settings, cached)
    with _lock:
        _cache[key] = known
    return known


def forget() -> None:
    """Drop what this process has cached (tests and `tipline checks` use it)."""
    with _lock:
        _cache.clear()


def _read(session: Session, settings: Settings, cached: Knowledge | None) -> Knowledge:
    entries: dict[ListName, list[str]] = {name: [] for name in ListName}
    for name, value in session.execute(
        select(ListEntry.list, ListEntry.value).order_by(ListEntry.id)
    ):
        entries[name].append(value)
    lists = Lists.build(settings, entries)
    now = utcnow()
    by_target: dict[BanTarget, dict[str, Sanction]] = {target: {} for target in BanTarget}
    for target, value, reason, effect, until, by in session.execute(
        select(Ban.target, Ban.value, Ban.reason, Ban.effect, Ban.expires_at, StaffUser.email)
        .outerjoin(StaffUser, StaffUser.id == Ban.created_by_id)
        .where(Ban.lifted_at.is_(None), or_(Ban.expires_at.is_(None), Ban.expires_at > now))
        .order_by(Ban.id)
    ):
        known = by_target[target].get(value)
        # A ban and a pre-moderation of the same sender: the ban is what applies.
        if known is None or (known.effect is not BanEffect.ban and effect is BanEffect.ban):
            by_target[target][value] = Sanction(reason, effect, by or UNKNOWN_AUTHOR, until)
    bans = Bans(
        emails=by_target[BanTarget.email],
        ips=by_target[BanTarget.ip],
        names=by_target[BanTarget.name],
    )
    model, model_id = _model(session, cached)
    site = load_site_settings(session)
    session.rollback()
    return Knowledge(lists, bans, model, model_id, time.monotonic(), site)


def _model(session: Session, cached: Knowledge | None) -> tuple[SpamClassifier, int | None]:
    active = session.execute(select(SpamModel.id).where(SpamModel.active)).scalar()
    if cached is not None and cached.model_id == active:
        return cached.model, active
    if active is None:
        return load_base(), None
    weights = session.execute(select(SpamModel.weights).where(SpamModel.id == active)).scalar_one()
    try:
        return SpamClassifier.from_bytes(weights), active
    except ValueError as exc:
        log.error("spam model %d cannot be read (%s); using the base model", active, exc)
        return load_base(), active


def standings(session: Session, settings: Settings, email_hashes: set[str]) -> dict[str, Standing]:
    """The record of each sender among `email_hashes` who has one."""
    if not email_hashes:
        return {}
    since = utcnow() - timedelta(days=settings.reputation_window_days)
    recent = Submission.created_at >= since
    decided = Submission.status.in_(APPROVED + REJECTED)
    rejected = Submission.status.in_(REJECTED)
    rows = session.execute(
        select(
            Submission.email_hash,
            func.count().filter(Submission.status.in_(APPROVED)),
            func.count().filter(rejected),
            func.sum(case((recent & decided, 1), else_=0)),
            func.sum(case((recent & rejected, 1), else_=0)),
        )
        .where(Submission.email_hash.in_(email_hashes), decided)
        .group_by(Submission.email_hash)
    ).all()
    session.rollback()
    return {
        row[0]: Standing(
            approved=row[1],
            rejected=row[2],
            recent_decided=row[3] or 0,
            recent_rejected=row[4] or 0,
        )
        for row in rows
    }


def published_networks(session: Session, ip_hashes: set[str]) -> frozenset[str]:
    """Those of `ip_hashes` from which a comment was published (for senders with no e-mail)."""
    if not ip_hashes:
        return frozenset()
    found = session.scalars(
        select(Submission.ip_hash)
        .where(Submission.ip_hash.in_(ip_hashes), Submission.status.in_(APPROVED))
        .distinct()
    ).all()
    session.rollback()
    return frozenset(h for h in found if h)
