"""The policy: how the checks' verdicts become a submission's status.

Comments
    any `spam`                    -> spam
    any `suspect` or `error`      -> pending (a moderator decides)
    all `ok`                      -> published if the article is post-moderated,
                                     pending if it is pre-moderated or closed (or has no article)
Tips
    any `spam`                    -> spam
    anything else                 -> new (editors see every reason, suspect and error included)

A check that failed (`error`) therefore never publishes a comment and never drops a tip.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.enums import Kind, ModerationMode, Status, Verdict


def decide(kind: Kind, verdicts: Iterable[Verdict], mode: ModerationMode | None) -> Status:
    """The status a submission of `kind` gets from its checks' verdicts and its article's mode."""
    seen = set(verdicts)
    if Verdict.spam in seen:
        return Status.spam
    if kind is Kind.tip:
        return Status.new
    if seen & {Verdict.suspect, Verdict.error}:
        return Status.pending
    return Status.published if mode is ModerationMode.post else Status.pending
