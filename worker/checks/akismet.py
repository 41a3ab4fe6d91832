"""Akismet: asks Akismet's comment-check about a comment (only when a key is configured).

Tips are never sent: they stay in the newsroom. A comment whose sender's details were not kept
(it came before Akismet was turned on) is not sent either: Akismet requires the sender's address.

When Akismet is down, slow or refuses the key, the answer is `ok`, with a reason that says so:
the other checks still judge the comment, and an outage of an outside service must not hold
every comment for a person (a newsroom would find its queue full whenever Akismet is). After a
failure this worker process does not ask again for FAILURE_PAUSE_SECONDS, so that a batch of
comments does not wait out one timeout each.
"""

from __future__ import annotations

import logging
import time

from core.enums import Kind, Verdict
from core.i18n import N_
from worker.akismet import MAX_TIMEOUT, Akismet, AkismetError, Comment
from worker.checks.base import Check, Content, Env, Result, result

log = logging.getLogger(__name__)

FAILURE_PAUSE_SECONDS = 60.0
SPAM_SCORE = 0.9


class AkismetCheck(Check):
    """Akismet's opinion of a comment: spam, blatant spam (discard) or not spam."""

    name = "akismet"
    version = "1"
    # A backstop: the client gives up well before (it waits at most MAX_TIMEOUT to connect and
    # as long again for the answer).
    time_budget = 2 * MAX_TIMEOUT + 1

    def __init__(self) -> None:
        # time.monotonic() of the last failure in this process, if any.
        self.failed_at: float | None = None

    def run(self, content: Content, env: Env) -> Result:
        """spam if Akismet says so; ok if it says not, or could not be asked."""
        if content.kind is not Kind.comment:
            return result(Verdict.ok, N_("not sent: tips stay in the newsroom"))
        settings = env.settings
        if not settings.akismet_key:
            return result(Verdict.ok, N_("Akismet not asked: no key is configured"))
        if not content.sender or not content.sender.get("user_ip"):
            return result(Verdict.ok, N_("Akismet not asked: the sender's details were not kept"))
        if self.failed_at is not None:
            ago = time.monotonic() - self.failed_at
            if ago < FAILURE_PAUSE_SECONDS:
                return result(
                    Verdict.ok,
                    N_("Akismet not asked: it failed %(seconds)d seconds ago"),
                    seconds=int(ago),
                )
        comment = Comment.of(
            content.sender,
            content=content.text,
            author=content.name,
            lang=content.locale,
            received_at=content.received_at,
        )
        try:
            answer = Akismet.from_settings(settings).comment_check(comment)
        except AkismetError as exc:
            self.failed_at = time.monotonic()
            # The error names the failure, never the comment or the sender.
            log.warning(
                "Akismet comment-check of submission %s failed: %s", content.submission_id, exc
            )
            return result(Verdict.ok, N_("Akismet unavailable (%(error)s)"), error=exc.code)
        self.failed_at = None
        if answer.spam and answer.discard:
            return Result(Verdict.spam, 1.0, N_("Akismet: blatant spam (discard)"))
        if answer.spam:
            return Result(Verdict.spam, SPAM_SCORE, N_("Akismet: spam"))
        return result(Verdict.ok, N_("Akismet: not spam"))
