"""Helpers the tests share: settings for a test database, waiting, real worker processes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from core.config import Settings
from core.crypto import generate_keypair

ROOT = Path(__file__).resolve().parent.parent


def _shared() -> Path:
    # The team's shared folder sits beside the repository; a clone elsewhere (CI's) finds it at
    # its usual place on our machines, or where TIPLINE_TEST_SHARED says.
    candidates = (os.environ.get("TIPLINE_TEST_SHARED"), ROOT.parent / "shared", "/work/shared")
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return ROOT.parent / "shared"


SHARED = _shared()
# The labelled spam collections (see their SOURCE.md files).
SPAM_DATA = SHARED / "data" / "spam"
T = TypeVar("T")


def make_settings(
    instance: Path, database_url: str, broker_url: str, queue: str, **overrides: object
) -> Settings:
    """Settings for a test: fresh secrets and keys, the given database, broker and queue."""
    tip = generate_keypair()
    worker = generate_keypair()
    base = Settings(
        instance_path=instance,
        database_url=database_url,
        broker_url=broker_url,
        ratelimit_storage_url=broker_url,
        # Threads are cached in the test Redis, under this run's prefix (emptied after each test).
        cache_url=broker_url,
        intake_secret_key=os.urandom(16).hex(),
        moderation_secret_key=os.urandom(16).hex(),
        hash_key=os.urandom(32),
        tip_public_key=tip.public,
        tip_private_key=tip.private,
        worker_public_key=worker.public,
        worker_private_key=worker.private,
        task_queue=queue,
        # Tests that are about rate limits set their own; the rest must not trip them.
        submit_rate_limit="1000 per minute",
        login_rate_limit="1000 per minute",
        log_level="WARNING",
        ratelimit_prefix=f"tipline-test-{queue}",
        sweep_interval_seconds=0.5,
    )
    return base.with_overrides(**overrides) if overrides else base


def settings_env(settings: Settings) -> dict[str, str]:
    """The TIPLINE_* environment that makes another process use `settings`."""
    return {
        "TIPLINE_INSTANCE_PATH": str(settings.instance_path),
        "TIPLINE_DATABASE_URL": settings.database_url,
        "TIPLINE_BROKER_URL": settings.broker_url,
        "TIPLINE_RATELIMIT_STORAGE_URL": settings.ratelimit_storage_url,
        "TIPLINE_CACHE_URL": settings.cache_url,
        "TIPLINE_INTAKE_SECRET_KEY": settings.intake_secret_key,
        "TIPLINE_MODERATION_SECRET_KEY": settings.moderation_secret_key,
        "TIPLINE_HASH_KEY": settings.hash_key.hex(),
        "TIPLINE_TIP_PUBLIC_KEY": settings.tip_public_key.hex(),
        "TIPLINE_TIP_PRIVATE_KEY": settings.tip_private_key.hex(),
        "TIPLINE_WORKER_PUBLIC_KEY": settings.worker_public_key.hex(),
        "TIPLINE_WORKER_PRIVATE_KEY": settings.worker_private_key.hex(),
        "TIPLINE_TASK_QUEUE": settings.task_queue,
        "TIPLINE_CHECKS": ",".join(settings.checks),
        "TIPLINE_BLOCKED_WORDS": ",".join(settings.blocked_words),
        "TIPLINE_SWEEP_AFTER_SECONDS": str(settings.sweep_after_seconds),
        "TIPLINE_SWEEP_INTERVAL_SECONDS": str(settings.sweep_interval_seconds),
        "TIPLINE_RESWEEP_AFTER_SECONDS": str(settings.resweep_after_seconds),
        "TIPLINE_SUBMIT_RATE_LIMIT": settings.submit_rate_limit,
        "TIPLINE_LOGIN_RATE_LIMIT": settings.login_rate_limit,
        "TIPLINE_RATELIMIT_PREFIX": settings.ratelimit_prefix,
        "TIPLINE_KNOWLEDGE_TTL_SECONDS": str(settings.knowledge_ttl_seconds),
        "TIPLINE_RETRAIN_INTERVAL_SECONDS": str(settings.retrain_interval_seconds),
        "TIPLINE_AKISMET_KEY": settings.akismet_key,
        "TIPLINE_AKISMET_URL": settings.akismet_url,
        "TIPLINE_AKISMET_TIMEOUT_SECONDS": str(settings.akismet_timeout_seconds),
        "TIPLINE_POLICY": json.dumps(dict(settings.policy)) if settings.policy else "",
        "TIPLINE_LOG_LEVEL": "INFO",
    }


def wait_for(
    predicate: Callable[[], T], timeout: float = 20.0, interval: float = 0.1, what: str = ""
) -> T:
    """Poll `predicate` until it returns something truthy; fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


@dataclass
class Process:
    """A child process started by a test, with its output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    extra: dict[str, object] = field(default_factory=dict)

    def log(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL the whole process group if it lingers."""
        if self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)


def start_process(
    name: str,
    args: list[str],
    settings: Settings,
    log_dir: Path,
    extra_env: Mapping[str, str] | None = None,
    ready: str | None = None,
    timeout: float = 30.0,
) -> Process:
    """Start `args` with `settings` in its environment; wait for `ready` in its output."""
    env = {**os.environ, **settings_env(settings), **(extra_env or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    log_path = log_dir / f"{name}-{uuid.uuid4().hex[:8]}.log"
    with log_path.open("wb") as out:
        popen = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True
        )
    process = Process(name=name, popen=popen, log_path=log_path)
    if ready is not None:
        try:
            wait_for(
                lambda: ready in process.log() or popen.poll() is not None,
                timeout=timeout,
                what=f"{name} to print {ready!r}",
            )
        except AssertionError:
            process.stop()
            raise AssertionError(f"{name} did not start:\n{process.log()[-4000:]}") from None
        if popen.poll() is not None:
            raise AssertionError(f"{name} exited at start:\n{process.log()[-4000:]}")
    return process


def start_worker(
    settings: Settings, log_dir: Path, extra_env: Mapping[str, str] | None = None
) -> Process:
    """A real Celery worker (prefork, one child) consuming the test queue."""
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.celery_app",
        "worker",
        "--pool=prefork",
        "--concurrency=1",
        "--loglevel=INFO",
        "--without-heartbeat",
        "--without-mingle",
        "--without-gossip",
        "-Q",
        settings.task_queue,
        "-n",
        f"test-{uuid.uuid4().hex[:8]}@%h",
    ]
    return start_process("worker", args, settings, log_dir, extra_env, ready="ready.")


def start_beat(
    settings: Settings, log_dir: Path, extra_env: Mapping[str, str] | None = None
) -> Process:
    """A real Celery beat sending the periodic tasks (the sweeper) to the test queue."""
    schedule = log_dir / f"beat-schedule-{uuid.uuid4().hex[:8]}"
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.celery_app",
        "beat",
        "--loglevel=INFO",
        "-s",
        str(schedule),
    ]
    return start_process("beat", args, settings, log_dir, extra_env, ready="beat: Starting")


def new_queue_name() -> str:
    """A queue no other test run uses, so stale messages never leak between runs."""
    return f"tipline-test-{uuid.uuid4().hex[:12]}"


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)
