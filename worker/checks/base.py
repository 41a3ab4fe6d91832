"""The check interface: what a check is given, what it must return, and how it is named.

A check is a small class with a `name` (stored with each result), a `version` (raised when its
behaviour changes, so that old results can be told apart) and a `run(content, config)` method
that returns a `Result`. Checks are pure: no database, no network, no logging of the content.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from core.config import Settings
from core.enums import Kind, Verdict

# The scores the rule-based checks give: 0 is clean, 1 is certainly spam.
SCORE = {Verdict.ok: 0.0, Verdict.suspect: 0.5, Verdict.spam: 1.0, Verdict.error: 0.0}


@dataclass(frozen=True)
class Content:
    """What a check reads of a submission: its kind, its text and the sender's own words."""

    kind: Kind
    text: str
    # A commenter's display name or a tipster's optional name.
    name: str = ""
    # A tipster's free-form contact (e-mail, phone, Signal...); empty for comments.
    contact: str = ""


@dataclass(frozen=True)
class Result:
    """One check's verdict, a score from 0 (clean) to 1 (spam) and a reason a moderator reads.

    `reason` is an English message id marked with core.i18n.N_, with named placeholders filled
    from `params` when it is shown, in the moderator's language.
    """

    verdict: Verdict
    score: float
    reason: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"a check's score must be between 0 and 1, not {self.score}")


class Check(ABC):
    """A check of one submission; subclasses set `name` and `version` and implement `run`."""

    name: ClassVar[str]
    version: ClassVar[str]
    # Seconds the pipeline lets this check run before it counts as an error (see
    # worker.pipeline.time_budget); None for no limit.
    time_budget: ClassVar[float | None] = 5.0

    @abstractmethod
    def run(self, content: Content, config: Settings) -> Result:
        """Look at `content` and say what it is."""


def result(verdict: Verdict, reason: str, **params: Any) -> Result:
    """A Result with the standard score for `verdict`."""
    return Result(verdict=verdict, score=SCORE[verdict], reason=reason, params=params)
