"""Checks that exist only for tests, named in TIPLINE_CHECKS as `tests.worker.sample_checks:X`."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import ClassVar

from sqlalchemy.orm import Session

from core.config import Settings
from core.db import make_engine
from core.enums import Verdict
from worker.checks import Check, Content, Result
from worker.checks.base import Env, result

# Where SlowCheck writes one line (its process id) each time it starts.
SLOW_LOG_ENV = "TIPLINE_TEST_SLOW_CHECK_LOG"


class SlowCheck(Check):
    """Slow on its first call only: long enough to kill the worker in the middle of it."""

    name = "slow"
    version = "1"
    time_budget = 120.0

    def run(self, content: Content, env: Env) -> Result:
        path = Path(os.environ[SLOW_LOG_ENV])
        first = not path.exists() or not path.read_text().strip()
        with path.open("a") as log:
            log.write(f"{os.getpid()}\n")
        if first:
            time.sleep(60)
        return result(Verdict.ok, "slow check done")


class BrokenCheck(Check):
    """Always raises, quoting the text (as a careless check might)."""

    name = "broken"
    version = "1"

    def run(self, content: Content, env: Env) -> Result:
        raise RuntimeError(f"cannot handle {content.text!r}")


class WrongTypeCheck(Check):
    """Returns something that is not a Result."""

    name = "wrongtype"
    version = "1"

    def run(self, content: Content, env: Env) -> Result:
        return "ok"  # type: ignore[return-value]


class HangingCheck(Check):
    """Never finishes within its one-second budget."""

    name = "hanging"
    version = "1"
    time_budget = 1.0

    def run(self, content: Content, env: Env) -> Result:
        time.sleep(60)
        return result(Verdict.ok, "never")


class RacingCheck(Check):
    """Checks the same submission in its own session while the outer run is mid-way.

    That is what a second worker does when a task is delivered twice. The test sets `target` to
    the submission id and the settings the inner run uses.
    """

    name = "racing"
    version = "1"
    target: ClassVar[tuple[int, Settings] | None] = None

    def run(self, content: Content, env: Env) -> Result:
        config = env.settings
        from worker.checking import check_submission

        if RacingCheck.target is not None:
            submission_id, inner_settings = RacingCheck.target
            RacingCheck.target = None
            engine = make_engine(config.database_url)
            try:
                with Session(engine, expire_on_commit=False) as session:
                    check_submission(session, submission_id, inner_settings)
            finally:
                engine.dispose()
        return result(Verdict.ok, "raced")


class StubbornCheck(Check):
    """Over its budget too, and catches every Exception on the way (as careless code does)."""

    name = "stubborn"
    version = "1"
    time_budget = 0.5

    def run(self, content: Content, env: Env) -> Result:
        with contextlib.suppress(Exception):
            time.sleep(5)
        return result(Verdict.ok, "never")
