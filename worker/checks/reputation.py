"""Reputation: banned senders go to spam, senders put in pre-moderation wait for a person,
trusted commenters skip pre-moderation, and a commenter whose comments are often rejected waits
for a person.

A sanction (core.models.Ban: a ban, or a pre-moderation) names a sender by e-mail hash, network
hash or display name (folded, so "ANA  Pérez" and "ana pérez" are one name; names apply to
comments only); the check never sees an address. The reason names the sanction: its reason,
who made it and until when. A pre-moderated sender is never trusted. A sender's record
(approved and rejected comments, by e-mail hash) comes from worker.environment.standings.

The rejection rate follows Coral's rule: at least settings.reputation_reject_rate of the
sender's decided comments of the last settings.reputation_window_days rejected (with at least
settings.reputation_min_decisions of them, so that one bad day is not a verdict) holds every
new comment for a moderator, even on an article that publishes at once.
"""

from __future__ import annotations

from core.enums import BanEffect, BanTarget, Kind, Verdict
from core.i18n import N_
from worker.checks.base import SCORE, Action, Check, Content, Env, Result, Sanction, result
from worker.normalize import fold


def name_key(name: str) -> str:
    """A display name as name bans store and match it: folded, spaces collapsed."""
    return " ".join(fold(name).split())


class ReputationCheck(Check):
    """Send banned senders to spam, hold pre-moderated ones; trust or hold by their record."""

    name = "reputation"
    # 2: pre-moderation, and a sanction's reason names who made it and until when.
    version = "2"
    # Reads only what the batch's Env already holds: nothing can hang, and the pipeline's
    # alarm would cost several times the check itself.
    time_budget = None

    def run(self, content: Content, env: Env) -> Result:
        """spam with Action.reject for a ban; suspect for pre-moderation, a poor record; ok with
        Action.trust; or ok."""
        sanctioned = _sanction(content, env)
        if sanctioned is not None:
            return sanctioned
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


# What the check says of a sanction, by its effect and what it names, and whether it ends.
_BANNED = {
    BanTarget.email: (
        N_("sender banned (e-mail): %(reason)s (by %(by)s, until %(until)s)"),
        N_("sender banned (e-mail): %(reason)s (by %(by)s, for good)"),
    ),
    BanTarget.ip: (
        N_("sender banned (network): %(reason)s (by %(by)s, until %(until)s)"),
        N_("sender banned (network): %(reason)s (by %(by)s, for good)"),
    ),
    BanTarget.name: (
        N_("sender banned (name): %(reason)s (by %(by)s, until %(until)s)"),
        N_("sender banned (name): %(reason)s (by %(by)s, for good)"),
    ),
}
_PREMODERATED = (
    N_("sender is in pre-moderation: %(reason)s (by %(by)s, until %(until)s)"),
    N_("sender is in pre-moderation: %(reason)s (by %(by)s, for good)"),
)


def _sanction(content: Content, env: Env) -> Result | None:
    # A ban by anything wins over a pre-moderation by anything else.
    found = _find(content, env, BanEffect.ban) or _find(content, env, BanEffect.premoderate)
    if found is None:
        return None
    target, sanction = found
    params = {"reason": sanction.reason, "by": sanction.by}
    if sanction.until is not None:
        params["until"] = f"{sanction.until:%Y-%m-%d %H:%M} UTC"
    messages = _BANNED[target] if sanction.effect is BanEffect.ban else _PREMODERATED
    reason = messages[0] if sanction.until is not None else messages[1]
    if sanction.effect is BanEffect.premoderate:
        # Held for a person whatever the other checks and the sender's record say.
        return Result(Verdict.suspect, SCORE[Verdict.suspect], reason, params)
    # A banned sender's submission goes to spam (see worker.policy's "banned" outcome).
    return Result(Verdict.spam, 1.0, reason, params, action=Action.reject)


def _find(content: Content, env: Env, effect: BanEffect) -> tuple[BanTarget, Sanction] | None:
    bans = env.bans
    candidates: list[tuple[BanTarget, Sanction | None]] = []
    if content.email_hash:
        candidates.append((BanTarget.email, bans.emails.get(content.email_hash)))
    if content.ip_hash:
        candidates.append((BanTarget.ip, bans.ips.get(content.ip_hash)))
    if content.kind is Kind.comment and content.name and bans.names:
        # Names are sanctioned from comments' pages; a tipster's name is no identity, and a
        # source must not lose a tip to a commenter who happened to use the same name.
        candidates.append((BanTarget.name, bans.names.get(name_key(content.name))))
    for target, sanction in candidates:
        if sanction is not None and sanction.effect is effect:
            return target, sanction
    return None
