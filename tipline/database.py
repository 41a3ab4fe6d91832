"""Database helpers for the command line: where the schema stands, staff accounts by e-mail."""

from __future__ import annotations

from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core.db import make_engine
from core.migrate import alembic_config
from core.models import StaffUser
from core.staff import normalise_email


@dataclass(frozen=True)
class Revisions:
    """The revisions a database is at, and the newest ones the code has."""

    current: tuple[str, ...]
    heads: tuple[str, ...]

    @property
    def up_to_date(self) -> bool:
        """Whether the database's schema is the code's newest."""
        return bool(self.current) and set(self.current) == set(self.heads)


def revisions(database_url: str) -> Revisions:
    """Where the database at `database_url` stands against the migrations."""
    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_heads()
    finally:
        engine.dispose()
    return Revisions(current=tuple(current), heads=tuple(heads))


def safe_url(database_url: str) -> str:
    """The URL with its password hidden, fit for printing."""
    return make_url(database_url).render_as_string(hide_password=True)


def find_staff_user(session: Session, email: str) -> StaffUser | None:
    """The staff account with this e-mail address, if any."""
    return session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))
