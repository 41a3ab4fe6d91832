"""Fixtures for every test: real SQLite and PostgreSQL, real Redis, real Celery workers.

Tests that take `settings` (or anything built on it) run once per database backend. A test
can pin one backend with `@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)`.
Each test starts with empty tables; rows are deleted after it. The public site only commits:
a submission reaches the `worker` when the sweeper relays it, so tests that need checks take
the `beat` fixture too.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import Base, make_engine
from core.migrate import upgrade
from core.models import StatusTally
from moderation.queue_rows import rows_cache
from tests.support import Process, make_settings, new_queue_name, start_beat, start_worker
from tests.support_mail import Inbox
from worker import environment

BACKENDS = ("sqlite", "postgresql")
PG_SERVER = os.environ.get("TIPLINE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("TIPLINE_TEST_REDIS", "redis://127.0.0.1:6379/13")
REQUIRE_POSTGRES = os.environ.get("TIPLINE_TEST_REQUIRE_POSTGRES") == "1"


def _pg_reachable() -> bool:
    try:
        dsn = PG_SERVER.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
        psycopg.connect(dsn, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis; the suite cannot run without it (the test command starts one)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.exit(f"Redis is not reachable at {REDIS_URL}: {exc}", returncode=3)
    return REDIS_URL


@pytest.fixture(scope="session")
def queue_name() -> str:
    """This run's own task queue."""
    return new_queue_name()


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where child processes write their output."""
    return tmp_path_factory.mktemp("logs")


class _Databases:
    """One migrated database per backend per run, created on first use, dropped at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.urls: dict[str, str] = {}
        self.engines: dict[str, Engine] = {}
        self.pg_name = f"tipline_test_{uuid.uuid4().hex[:10]}"

    def url(self, backend: str) -> str:
        if backend not in self.urls:
            if backend == "sqlite":
                url = f"sqlite:///{self.root / 'tipline-test.sqlite3'}"
            else:
                admin = make_engine(PG_SERVER + "/postgres", isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{self.pg_name}"')
                admin.dispose()
                url = f"{PG_SERVER}/{self.pg_name}"
            upgrade(url)  # the schema under test is the migrated one
            self.urls[backend] = url
            self.engines[backend] = make_engine(url)
        return self.urls[backend]

    def drop(self) -> None:
        for engine in self.engines.values():
            engine.dispose()
        if "postgresql" in self.urls:
            admin = make_engine(PG_SERVER + "/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
            admin.dispose()


@pytest.fixture(scope="session")
def _databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Databases]:
    databases = _Databases(tmp_path_factory.mktemp("db"))
    yield databases
    databases.drop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend this test runs on."""
    name: str = request.param
    if name == "postgresql" and not _pg_reachable():
        message = f"PostgreSQL is not reachable at {PG_SERVER}"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    return name


@pytest.fixture(autouse=True)
def _fresh_knowledge() -> Iterator[None]:
    """Each test starts with no lists, bans, site settings or queue rows cached from the one before.

    The checks cache what they read from the database for a few seconds (worker.environment);
    the tables are emptied between tests, the cache in this process is not.
    """
    environment.forget()
    rows_cache.clear()
    yield
    environment.forget()
    rows_cache.clear()


@pytest.fixture(scope="session")
def _session_settings() -> dict[str, Settings]:
    return {}


@pytest.fixture
def settings(
    backend: str,
    _databases: _Databases,
    _session_settings: dict[str, Settings],
    tmp_path_factory: pytest.TempPathFactory,
    redis_url: str,
    queue_name: str,
) -> Iterator[Settings]:
    """Settings for this backend's test database, the test Redis and this run's queue."""
    if backend not in _session_settings:
        _session_settings[backend] = make_settings(
            tmp_path_factory.mktemp(f"instance-{backend}"),
            _databases.url(backend),
            redis_url,
            f"{queue_name}-{backend}",
        )
    yield _session_settings[backend]
    _clean(_databases.engines[backend], redis_url, _session_settings[backend].ratelimit_prefix)


def _clean(engine: Engine, redis_url: str, ratelimit_prefix: str) -> None:
    with Session(engine) as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
        # Last: deleting submissions made their triggers tally the deletions.
        session.execute(delete(StatusTally))
        session.commit()
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"*{ratelimit_prefix}*"):
        client.delete(key)


@pytest.fixture
def engine(settings: Settings, _databases: _Databases, backend: str) -> Engine:
    """The test database's engine."""
    return _databases.engines[backend]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on the test database, for arranging and inspecting rows."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def intake_app(settings: Settings) -> Flask:
    """The public site, built from the test settings."""
    from intake import create_app

    return create_app(settings)


@pytest.fixture
def moderation_app(settings: Settings) -> Flask:
    """The staff site, built from the test settings."""
    from moderation import create_app

    return create_app(settings)


@pytest.fixture
def intake_client(intake_app: Flask) -> FlaskClient:
    """A browser-like client of the public site."""
    return intake_app.test_client()


@pytest.fixture
def moderation_client(moderation_app: Flask) -> FlaskClient:
    """A browser-like client of the staff site."""
    return moderation_app.test_client()


@pytest.fixture(scope="session")
def _workers(log_dir: Path) -> Iterator[dict[str, Process]]:
    workers: dict[str, Process] = {}
    yield workers
    for process in workers.values():
        process.stop()


@pytest.fixture
def worker(
    settings: Settings, backend: str, _workers: dict[str, Process], log_dir: Path
) -> Process:
    """A real Celery worker process for this backend, started once and shared by the run."""
    process = _workers.get(backend)
    if process is None or process.popen.poll() is not None:
        process = _workers[backend] = start_worker(settings, log_dir)
    return process


@pytest.fixture
def beat(settings: Settings, worker: Process, log_dir: Path) -> Iterator[Process]:
    """A real Celery beat for this test only, so the sweeper relays new submissions to `worker`.

    Not shared by the run: while it runs, every `received` row in the test database is handed
    to the worker, which tests of the unchecked state must not see.
    """
    process = start_beat(settings, log_dir)
    yield process
    process.stop()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A running SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it is given."""
    server = Inbox()
    server.start()
    yield server
    server.stop()
