"""Reputation: banned senders are rejected, trusted commenters skip pre-moderation, and a
commenter whose comments are often rejected waits for a person.

A ban names a sender by e-mail hash, network hash or display name (folded, so "ANA  Pérez" and
"ana pérez" are one name; names apply to comments only); the check never sees an address. A
sender's record (approved and rejected comments, by e-mail hash) comes from
worker.environment.standings.

The rejection rate follows Coral's rule: at least settings.reputation_reject_rate of the
sender's decided comments of the last settings.reputation_window_days rejected (with at least
settings.reputation_min_decisions of them, so that one bad day is not a verdict) holds every
new comment for a moderator, even on an article that publishes at once.
"""

from __future__ import annotations

from core.enums import Kind, Verdict
from core.i18n import N_
from worker.checks.base import Action, Check, Content, Env, Result, result
from worker.normalize import fold


def name_key(name: str) -> str:
    """A display name as name bans store and match it: folded, spaces collapsed."""
    return " ".join(fold(name).split())


class ReputationCheck(Check):
    """Reject banned senders; trust or hold commenters by their record."""

    name = "reputation"
    version = "1"
    # Reads only what the batch's Env already holds: nothing can hang, and the pipeline's
    # alarm would cost several times the check itself.
    time_budget = None

    def run(self, content: Content, env: Env) -> Result:
        """spam with Action.reject for a ban; ok with Action.trust; suspect; or ok."""
        banned = _ban(content, env)
        if banned is not None:
            return banned
        if content.kind is not Kind.comment or not content.email_hash:
            return result(Verdict.ok, N_("no record of this sender"))
        standing = env.standings.get(content.email_hash)
        if standing is None:
            return result(Verdict.ok, N_("no record of this sender"))
        config = env.settings
        decided, rejected = standing.recent_decided, standing.recent_rejected
        if (
            decided >= config.reputation_min_decisions
            and rejected / decided >= config.reputation_reject_rate
        ):
            return result(
                Verdict.suspect,
                N_("%(rate)d%% of this sender's comments rejected in %(days)d days"),
                rate=round(100 * rejected / decided),
                days=config.reputation_window_days,
            )
        if standing.approved >= config.trusted_after and standing.rejected == 0:
            return Result(
                Verdict.ok,
                0.0,
                N_("trusted sender: %(approved)d approved"),
                {"approved": standing.approved},
                action=Action.trust,
            )
        return result(
            Verdict.ok,
            N_("this sender: %(approved)d approved, %(rejected)d rejected"),
            approved=standing.approved,
            rejected=standing.rejected,
        )


def _ban(content: Content, env: Env) -> Result | None:
    bans = env.bans
    found: tuple[str, str] | None = None
    if content.email_hash and content.email_hash in bans.emails:
        found = (N_("sender banned (e-mail): %(reason)s"), bans.emails[content.email_hash])
    elif content.ip_hash and content.ip_hash in bans.ips:
        found = (N_("sender banned (network): %(reason)s"), bans.ips[content.ip_hash])
    elif content.kind is Kind.comment and content.name and bans.names:
        # Names are banned from comments' pages; a tipster's name is no identity, and a source
        # must not lose a tip to a commenter who happened to use the same name.
        name = name_key(content.name)
        if name in bans.names:
            found = (N_("sender banned (name): %(reason)s"), bans.names[name])
    if found is None:
        return None
    reason, why = found
    # A tip from a banned sender goes to spam rather than being rejected (see worker.policy).
    return Result(Verdict.spam, 1.0, reason, {"reason": why}, action=Action.reject)
