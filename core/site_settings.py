"""The settings admins change in the staff site, stored in the database, read by every process.

Environment settings (core.config) say how Tipline runs; these say how the newsroom moderates,
and change without a restart. Each change writes an audit row naming the setting, the old value
and the new one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import limits
from core.db import utcnow
from core.enums import Premoderation
from core.models import AuditEvent, SiteSetting, StaffUser

# The audit log's action for a changed setting.
SETTING_ACTION = "setting"


@dataclass(frozen=True)
class SiteSettings:
    """Moderation settings with their defaults (what a fresh install does)."""

    # Which comments wait for a moderator across the site, on top of the article's own mode.
    premoderation: Premoderation = Premoderation.off
    # How many readers' reports move a published comment into the Reported queue.
    flag_threshold: int = 1
    # Close an article to new comments this many days after it was added; 0 never.
    auto_close_days: int = 0
    # Whether every staff member must log in with a second factor (TOTP).
    require_totp: bool = False
    # Closed tips are purged this many days after they were closed, unless marked "keep".
    tip_retention_days: int = 90
    # A source's codename stops working this many days after the tip if no one replied.
    codename_days: int = 30
    # Comma-separated words or phrases: a tip holding one is marked urgent (worker.tip_alerts).
    urgent_words: str = ""
    # The outlet's sites that may embed threads and call the API from a browser, one origin
    # ("https://www.example.com") per line (core.origins).
    embed_origins: str = ""


DEFAULTS = SiteSettings()
_TYPES = {f.name: type(getattr(DEFAULTS, f.name)) for f in fields(SiteSettings)}


def load(session: Session) -> SiteSettings:
    """The current settings: stored values over the defaults (unknown or bad values ignored)."""
    stored: dict[str, Any] = {
        key: value for key, value in session.execute(select(SiteSetting.key, SiteSetting.value))
    }
    values: dict[str, Any] = {}
    for name, kind in _TYPES.items():
        if name not in stored:
            continue
        try:
            values[name] = _coerce(kind, stored[name])
        except (TypeError, ValueError):
            continue  # a value from an older version that no longer parses: keep the default
    return SiteSettings(**values)


def save(
    session: Session, actor: StaffUser | None, actor_label: str | None = None, **changes: Any
) -> list[str]:
    """Store `changes`, audit each one that differs, commit; the names of those changed."""
    current = asdict(load(session))
    changed = []
    now = utcnow()
    for name, value in changes.items():
        if name not in _TYPES:
            raise KeyError(f"no setting {name!r}")
        value = _coerce(_TYPES[name], value)
        if value == current[name]:
            continue
        row = session.get(SiteSetting, name)
        stored = value.value if isinstance(value, Premoderation) else value
        if row is None:
            row = SiteSetting(key=name, value=stored, updated_at=now, updated_by_id=_id(actor))
            session.add(row)
        else:
            row.value, row.updated_at, row.updated_by_id = stored, now, _id(actor)
        session.add(
            AuditEvent(
                at=now,
                actor_id=_id(actor),
                actor_label=actor.email if actor else (actor_label or "cli"),
                action=SETTING_ACTION,
                reason=f"{name}: {_show(current[name])} → {_show(value)}"[: limits.REASON_MAX],
            )
        )
        changed.append(name)
    session.commit()
    return changed


def word_list(value: str) -> tuple[str, ...]:
    """The words or phrases of a comma-separated setting (urgent_words), trimmed, no blanks."""
    words = (" ".join(part.split()) for part in value.split(","))
    return tuple(dict.fromkeys(word for word in words if word))


def _coerce(kind: type, value: Any) -> Any:
    if kind is bool:
        if isinstance(value, str):
            return value.lower() in ("1", "true", "yes", "on")
        return bool(value)
    if kind is int:
        number = int(value)
        if number < 0:
            raise ValueError("must not be negative")
        return number
    return kind(value)


def _show(value: Any) -> str:
    return value.value if isinstance(value, Premoderation) else str(value)


def _id(actor: StaffUser | None) -> int | None:
    return actor.id if actor else None
