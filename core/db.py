"""The database: declarative base, engine set-up and a session per Flask app context."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import DateTime, Engine, Executable, MetaData, Row, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so that Alembic migrations can name what they change.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`, with SQLite made safe for several processes writing at once."""
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    if url.startswith("postgresql"):
        # Fail fast when the server is down so that readers get the 503 page, not a hang.
        kwargs.setdefault("connect_args", {"connect_timeout": 3})
        # An autocommit connection has nothing to roll back when it returns to the pool.
        kwargs.setdefault("skip_autocommit_rollback", True)
    return create_engine(url, **kwargs)


def _sqlite_on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    # WAL lets the web apps read while a worker writes; busy_timeout makes writers queue rather
    # than fail. pysqlite's own transaction handling is switched off so that _sqlite_on_begin
    # can take the write lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock at the start. A deferred transaction that reads and
    # then writes fails at once ("database is locked") if another process wrote in between;
    # an immediate one waits its turn (busy_timeout) instead. Sessions that only read (safe
    # HTTP methods, see Database.session) begin deferred, so pages never wait on writers.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN DEFERRED")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


READ_ONLY = "tipline_read_only"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def execute_alone(
    session: Session, statement: Executable, parameters: dict[str, Any] | None = None
) -> Sequence[Row[Any]]:
    """Run one writing statement as its own transaction, outside the session's.

    On PostgreSQL it runs on a connection in autocommit mode, without a ping first: one round
    trip where BEGIN, the statement and COMMIT would take three and the ping a fourth. If the
    pooled connection turns out dead (the server restarted), it runs once more on a fresh one,
    so the statement must be safe to repeat (the submit path's is, by its unique reference).
    Returns the rows of its RETURNING clause (rowcount is not reliable for INSERT ... SELECT
    on every driver). The row is committed on return.
    """
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    if engine.dialect.name != "postgresql":
        with engine.begin() as connection:
            return connection.execute(statement, parameters).all()
    writer = _autocommit_engine(engine)
    try:
        with writer.connect() as connection:
            return connection.execute(statement, parameters).all()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    # The disconnect invalidated every pooled connection of that age: this one is new.
    with writer.connect() as connection:
        return connection.execute(statement, parameters).all()


_AUTOCOMMIT: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


def _autocommit_engine(engine: Engine) -> Engine:
    # Its own small pool of connections that stay in autocommit, rather than switching the
    # isolation level of a shared connection on each checkout and back on each return.
    writer = _AUTOCOMMIT.get(engine)
    if writer is None:
        writer = _AUTOCOMMIT[engine] = make_engine(
            engine.url.render_as_string(hide_password=False),
            isolation_level="AUTOCOMMIT",
            pool_pre_ping=False,
        )
    return writer


class Database:
    """A Flask extension: one engine per app, one session per app context."""

    def init_app(self, app: Flask, url: str) -> None:
        """Bind an engine for `url` to `app` and close the session when the context ends."""
        engine = make_engine(url)
        app.extensions["tipline.db"] = {
            "engine": engine,
            "reader": engine.execution_options(**{READ_ONLY: True}),
            "sessionmaker": sessionmaker(bind=engine, expire_on_commit=False),
        }
        app.teardown_appcontext(self._close_session)

    @staticmethod
    def engine_for(app: Flask) -> Engine:
        """The engine bound to `app`."""
        engine: Engine = app.extensions["tipline.db"]["engine"]
        return engine

    @property
    def session(self) -> Session:
        """The session of the current app context, opened on first use.

        In a request with a safe method (GET, HEAD) it is a reading session: on SQLite its
        transactions begin deferred and never hold the write lock. Such a request must not write.
        """
        if "tipline_session" not in g:
            extension = current_app.extensions["tipline.db"]
            factory: sessionmaker[Session] = extension["sessionmaker"]
            if has_request_context() and request.method in SAFE_METHODS:
                g.tipline_session = factory(bind=extension["reader"])
            else:
                g.tipline_session = factory()
        session: Session = g.tipline_session
        return session

    @staticmethod
    def _close_session(exc: BaseException | None) -> None:
        session: Session | None = g.pop("tipline_session", None)
        if session is not None:
            session.close()


db = Database()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session outside any request, closed at the end (CLI commands and benchmarks)."""
    session = Session(bind=engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
