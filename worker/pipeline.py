"""Runs the configured checks over one submission's content; a failing check fails open.

A check that raises, returns something that is not a Result, or runs past its time budget gets
the verdict `error` with a reason naming it. The policy holds such a submission for a person:
it is never published unseen and never dropped.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from core.enums import Kind, Verdict
from core.i18n import N_
from worker.checks.base import Check, Content, Env, Result

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """A check's result with the check's name and version, as it is stored."""

    name: str
    version: str
    result: Result


class CheckTimeout(BaseException):
    """A check ran past its time budget.

    A BaseException, so that a check's own `except Exception` cannot swallow it.
    """


@contextmanager
def time_budget(seconds: float | None) -> Iterator[None]:
    """Raise CheckTimeout inside the block once it has run for `seconds`.

    It uses SIGALRM, so it applies only in a process's main thread (where Celery's prefork pool
    runs tasks) and only when no other interval timer is armed (pytest-timeout's, say): then the
    block runs without a budget. A check stuck in C code that never returns to Python cannot be
    interrupted this way.
    """
    with _alarm() as armed:
        if seconds is None or seconds <= 0 or not armed:
            yield
            return
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)


def _expire(signum: int, frame: FrameType | None) -> None:
    raise CheckTimeout


@contextmanager
def _alarm() -> Iterator[bool]:
    # Installs the SIGALRM handler for the block, if budgets can apply here (see time_budget);
    # yields whether they can. Once per submission, not per check: it runs for every one.
    usable = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not usable:
        yield False
        return
    previous = signal.signal(signal.SIGALRM, _expire)
    try:
        yield True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_checks(checks: Sequence[Check], content: Content, env: Env) -> list[Outcome]:
    """Every check's outcome for `content`, in order; errors become `error` verdicts."""
    with _alarm() as armed:
        return [Outcome(c.name, c.version, _run_one(c, content, env, armed)) for c in checks]


def unreadable(checks: Sequence[Check]) -> list[Outcome]:
    """Outcomes for content that could not be opened: every check says `error`."""
    reason = Result(Verdict.error, 0.0, N_("the content could not be opened for checking"))
    return [Outcome(check.name, check.version, reason) for check in checks]


def _run_one(check: Check, content: Content, env: Env, armed: bool) -> Result:
    budget = check.time_budget if armed and check.time_budget and check.time_budget > 0 else 0
    try:
        if budget:
            signal.setitimer(signal.ITIMER_REAL, budget)
        try:
            outcome = check.run(content, env)
        finally:
            if budget:
                signal.setitimer(signal.ITIMER_REAL, 0)
        if not isinstance(outcome, Result):
            raise TypeError(f"{type(check).__name__}.run returned {type(outcome).__name__}")
    except CheckTimeout:
        log.warning("check %s ran past its budget of %ss", check.name, check.time_budget)
        return Result(
            Verdict.error,
            0.0,
            N_("check %(check)s took longer than %(seconds)s seconds"),
            {"check": check.name, "seconds": check.time_budget},
        )
    except Exception as exc:
        # A tip's text must never reach the logs, and an exception's message might quote it:
        # for tips only the exception's type is logged.
        log.error(
            "check %s failed: %s",
            check.name,
            type(exc).__name__,
            exc_info=content.kind is Kind.comment,
        )
        return Result(
            Verdict.error,
            0.0,
            N_("check %(check)s failed (%(error)s)"),
            {"check": check.name, "error": type(exc).__name__},
        )
    return outcome
