"""Scoring the whole check pipeline on labelled submissions: what `tipline checks evaluate` prints.

Each labelled text goes through every configured check (but those that call outside services)
and the policy, one at a time as a task sees them, with the real flood store under a prefix of
its own. A text counts as caught when the policy sends it to spam (or rejects it); a held one
(pending, for a person) is counted apart: it is not published unseen, but it is not caught.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import Any, Protocol

from core.config import Settings
from core.enums import Kind, ModerationMode, Status
from worker.checks.base import Check, Content, Env
from worker.classifier.rates import Rates
from worker.pipeline import run_checks
from worker.policy import decide

# Checks that call services outside the building; never run by an evaluation.
OUTSIDE = {"akismet"}
CAUGHT = {Status.spam, Status.rejected}


class Labelled(Protocol):
    """A labelled text: its kind, its text and whether it is spam."""

    @property
    def kind(self) -> Kind: ...

    @property
    def text(self) -> str: ...

    @property
    def spam(self) -> bool: ...


@dataclass
class Figures(Rates):
    """Confusion counts, how many were held for a person, and the time the pipeline took."""

    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0
    held_spam: int = 0
    held_ham: int = 0
    seconds: float = 0.0

    @property
    def count(self) -> int:
        """How many texts were scored."""
        return self.tp + self.fp + self.tn + self.fn

    @property
    def per_second(self) -> float:
        """Submissions through the pipeline per second."""
        return self.count / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The figures as one JSON-ready object."""
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "ham_false_positive_rate": round(self.ham_false_positive_rate, 4),
            "per_second": round(self.per_second, 1),
            "count": self.count,
            **{k: v for k, v in asdict(self).items() if k != "seconds"},
            "seconds": round(self.seconds, 3),
        }

    def add(self, other: Figures) -> Figures:
        """The sum of two sets of figures (folds of a cross-validation)."""
        return Figures(**{k: getattr(self, k) + getattr(other, k) for k in asdict(self)})


def pipeline_checks(checks: Sequence[Check]) -> list[Check]:
    """`checks` without those that call outside services."""
    return [check for check in checks if check.name not in OUTSIDE]


def isolated(settings: Settings) -> Settings:
    """Settings whose flood counters cannot mix with a live site's (or another evaluation's)."""
    return replace(
        settings, ratelimit_prefix=f"{settings.ratelimit_prefix}:eval:{uuid.uuid4().hex}"
    )


def evaluate(
    records: Iterable[Labelled],
    checks: Sequence[Check],
    env: Env,
    mode: ModerationMode = ModerationMode.post,
    interval: float = 60.0,
) -> Figures:
    """Run every record through `checks` and the policy, one at a time; the figures.

    A labelled file says nothing of when each text arrived, and the flood check counts copies
    within a time window: the records are taken to arrive `interval` seconds apart, in file
    order (one a minute by default: a busy comment section).
    """
    figures = Figures()
    clock = time.perf_counter
    start = env.now
    for number, record in enumerate(records):
        content = Content(
            kind=record.kind,
            text=record.text,
            submission_id=-(number + 1),
            received_at=start + timedelta(seconds=number * interval),
        )
        started = clock()
        outcomes = run_checks(checks, content, env)
        status = decide(record.kind, [o.result for o in outcomes], mode, env.settings)
        figures.seconds += clock() - started
        caught = status in CAUGHT
        held = status is Status.pending
        if record.spam:
            figures.tp += caught
            figures.fn += not caught
            figures.held_spam += held
        else:
            figures.fp += caught
            figures.tn += not caught
            figures.held_ham += held
    return figures
