"""What the benchmarks share: a throw-away PostgreSQL database, TIPLINE_* settings, processes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.crypto import generate_keypair  # noqa: E402
from core.db import make_engine  # noqa: E402
from core.migrate import upgrade  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/12"


@dataclass
class Rig:
    """A migrated database, an instance folder, the environment for Tipline's processes."""

    database_url: str
    engine: Engine
    env: dict[str, str]
    instance: Path
    queue: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(
        self, *command: str, nice: int = 0, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start `python -m <command>` with the rig's environment (plus `env`), at `nice`."""

        def lower_priority() -> None:
            # Each child leads its own session, hence its own scheduler autogroup on Linux;
            # a plain nice value only ranks processes within one group, so set the group's.
            autogroup = Path("/proc/self/autogroup")
            if autogroup.exists():
                autogroup.write_text(str(nice))
            os.nice(nice)

        # Their banners and warnings go to a log, so that the figures stand alone on screen.
        with (self.instance / "processes.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", *command],
                env={**self.env, **(env or {})},
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=lower_priority if nice else None,
            )
        self.processes.append(process)
        return process

    def worker(self, nice: int = 0) -> subprocess.Popen[bytes]:
        """A Celery worker (prefork, one child) on the rig's queue."""
        return self.spawn(
            *("celery", "-A", "worker.celery_app", "worker", "-c", "1", "-Q", self.queue),
            *("--loglevel=WARNING", "--without-gossip", "--without-mingle"),
            nice=nice,
        )

    def beat(self, nice: int = 0) -> subprocess.Popen[bytes]:
        """Celery beat, whose sweeper relays new submissions to the worker every second."""
        schedule = str(self.instance / "beat-schedule")
        return self.spawn(
            "celery",
            "-A",
            "worker.celery_app",
            "beat",
            "--loglevel=WARNING",
            "-s",
            schedule,
            nice=nice,
        )


@contextlib.contextmanager
def rig(
    pg: str = PG, redis: str = REDIS, name: str | None = None, keep: bool = False, **env: str
) -> Iterator[Rig]:
    """A fresh database on `pg` (dropped afterwards) and settings for it; stops what it started.

    With `name`, the database of that name is reused if it exists; with `keep`, it is left in
    place afterwards (for data that takes minutes to load).
    """
    dbname = name or f"tipline_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(pg + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": dbname}
        )
        if not exists:
            connection.exec_driver_sql(f'CREATE DATABASE "{dbname}"')
    database_url = f"{pg}/{dbname}"
    upgrade(database_url)
    tip, worker_keys = generate_keypair(), generate_keypair()
    instance = Path(tempfile.mkdtemp(prefix="tipline-bench-"))
    queue = f"tipline-bench-{uuid.uuid4().hex[:8]}"
    settings = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TIPLINE_INSTANCE_PATH": str(instance),
        "TIPLINE_DATABASE_URL": database_url,
        "TIPLINE_BROKER_URL": redis,
        "TIPLINE_TASK_QUEUE": queue,
        "TIPLINE_RATELIMIT_PREFIX": queue,
        "TIPLINE_INTAKE_SECRET_KEY": os.urandom(16).hex(),
        "TIPLINE_MODERATION_SECRET_KEY": os.urandom(16).hex(),
        "TIPLINE_HASH_KEY": os.urandom(32).hex(),
        "TIPLINE_TIP_PUBLIC_KEY": tip.public.hex(),
        "TIPLINE_WORKER_PUBLIC_KEY": worker_keys.public.hex(),
        "TIPLINE_WORKER_PRIVATE_KEY": worker_keys.private.hex(),
        "TIPLINE_LOG_LEVEL": "WARNING",
        **env,
    }
    engine = make_engine(database_url)
    bench = Rig(database_url, engine, settings, instance, queue)
    try:
        yield bench
    finally:
        for process in bench.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in bench.processes:
            process.wait(timeout=60)
        engine.dispose()
        if not keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()
        with contextlib.suppress(OSError):
            for path in sorted(instance.rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
            instance.rmdir()


def copy_lines(connection: psycopg.Connection[Any], sql: str, lines: Iterator[str]) -> None:
    """COPY tab-separated lines into a table, 8 MB at a time."""
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        buffer = io.StringIO()
        for line in lines:
            buffer.write(line)
            if buffer.tell() > 8_000_000:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


@dataclass(frozen=True)
class OpenLoop:
    """What an open-loop run measured: the rate achieved and latencies in milliseconds."""

    rate: float
    p50: float
    p99: float
    slowest: float
    failed: int


def open_loop(url: str, rate: float, seconds: float, headers: dict[str, str]) -> OpenLoop:
    """GET `url` at a fixed `rate`, evenly spaced, whatever the answers' speed (open loop).

    Each request starts at its planned time on its own connection (gunicorn's sync workers
    close each one) and its latency is counted from that planned time, so a server that falls
    behind shows it in full: no coordinated omission. (hey's workers start their tickers
    together and send in bursts of -c requests; wrk2 is not packaged.)
    """
    # The client's own garbage collections (thousands of live tasks) would show up as the
    # server's latency: collect now, then not during the run.
    gc.collect()
    gc.disable()
    try:
        elapsed, timings = asyncio.run(_open_loop(url, rate, seconds, headers))
    finally:
        gc.enable()
    latencies = sorted(ms for ms, _ in timings)

    def pick(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    failed = sum(1 for _, ok in timings if not ok)
    return OpenLoop(len(timings) / elapsed, pick(0.5), pick(0.99), latencies[-1], failed)


async def _open_loop(
    url: str, rate: float, seconds: float, headers: dict[str, str]
) -> tuple[float, list[tuple[float, bool]]]:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{head}Connection: close\r\n\r\n"
    ).encode()
    timings: list[tuple[float, bool]] = []

    async def one(planned: float) -> None:
        ok = False
        try:
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            writer.write(request)
            await writer.drain()
            answer = await reader.read()
            writer.close()
            ok = answer.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200"))
        except OSError:
            pass
        timings.append(((time.perf_counter() - planned) * 1000, ok))

    start = time.perf_counter() + 0.1
    tasks = []
    for i in range(int(rate * seconds)):
        planned = start + i / rate
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(planned)))
    await asyncio.gather(*tasks)
    return time.perf_counter() - start, timings
