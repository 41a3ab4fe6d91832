"""The policy: how the checks' results become a submission's status.

The results are first reduced to one outcome, the first of these that applies:

    banned    a check asked for rejection (a banned sender; the ban is named in its reason)
    spam      any check said `spam`
    error     any check failed or ran out of time
    suspect   any check said `suspect`
    trusted   all `ok`, and the reputation check vouched for the sender
    ok        all `ok`

Then a table per kind and article mode ("none" for a comment with no article, "any" for tips)
gives the status. The defaults:

    comment     post       pre        closed     none
    banned      spam       spam       spam       spam
    spam        spam       spam       spam       spam
    error       pending    pending    pending    pending
    suspect     pending    pending    pending    pending
    trusted     published  published  pending    pending
    ok          published  pending    pending    pending

    tip         any
    banned      spam
    spam        spam
    everything else  new      (editors see every reason)

TIPLINE_POLICY overrides cells with a JSON object of the same shape, for example
`{"comment": {"pre": {"trusted": "pending"}}}` (trusted commenters wait like everyone else). A
table that would publish or reject a comment whose checks failed (`error`), or drop a tip, is
refused: a check that fails never publishes a comment unseen and never loses anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from core.config import ConfigError, Settings
from core.enums import Kind, ModerationMode, Status, Verdict
from worker.checks.base import Action, Result


class Outcome(StrEnum):
    """The checks' results reduced to the one thing the policy acts on."""

    banned = "banned"
    spam = "spam"
    error = "error"
    suspect = "suspect"
    trusted = "trusted"
    ok = "ok"


NO_ARTICLE = "none"
ANY = "any"

Table = dict[str, dict[str, dict[Outcome, Status]]]


def _column(**cells: Status) -> dict[Outcome, Status]:
    return {Outcome(name): status for name, status in cells.items()}


_HELD = {"error": Status.pending, "suspect": Status.pending}
DEFAULT: Table = {
    Kind.comment.value: {
        mode: _column(
            # To Spam, where moderators look for what the checks caught, the ban named.
            banned=Status.spam,
            spam=Status.spam,
            **_HELD,
            trusted=Status.published if mode in {"post", "pre"} else Status.pending,
            ok=Status.published if mode == "post" else Status.pending,
        )
        for mode in ("post", "pre", "closed", NO_ARTICLE)
    },
    Kind.tip.value: {
        ANY: _column(
            banned=Status.spam,
            spam=Status.spam,
            error=Status.new,
            suspect=Status.new,
            trusted=Status.new,
            ok=Status.new,
        )
    },
}

# What each kind's table may name, and what a failed check may lead to.
ALLOWED = {
    Kind.comment.value: {Status.published, Status.pending, Status.spam, Status.rejected},
    Kind.tip.value: {Status.new, Status.spam},
}
ON_ERROR = {Kind.comment.value: {Status.pending}, Kind.tip.value: {Status.new}}


def outcome(results: Iterable[Result]) -> Outcome:
    """The one outcome `results` come to (see the module's docstring for the order)."""
    seen = list(results)
    verdicts = {r.verdict for r in seen}
    actions = {r.action for r in seen}
    if Action.reject in actions:
        return Outcome.banned
    if Verdict.spam in verdicts:
        return Outcome.spam
    if Verdict.error in verdicts:
        return Outcome.error
    if Verdict.suspect in verdicts:
        return Outcome.suspect
    if Action.trust in actions:
        return Outcome.trusted
    return Outcome.ok


def decide(
    kind: Kind,
    results: Iterable[Result],
    mode: ModerationMode | None,
    settings: Settings | None = None,
) -> Status:
    """The status a submission of `kind` gets from its checks' results and its article's mode."""
    table = policy_table(settings.policy if settings else {})
    columns = table[kind.value]
    column = columns[ANY] if kind is Kind.tip else columns[mode.value if mode else NO_ARTICLE]
    return column[outcome(results)]


_tables: dict[str, Table] = {}


def policy_table(overrides: Mapping[str, Any]) -> Table:
    """The default table with `overrides` applied; ConfigError if the result is unsafe."""
    # Called for every submission: the common case (no overrides) costs one dictionary lookup.
    key = json.dumps(overrides, sort_keys=True, default=str) if overrides else ""
    if key not in _tables:
        _tables[key] = _build(overrides)
    return _tables[key]


def _build(overrides: Mapping[str, Any]) -> Table:
    table = {
        kind: {mode: dict(col) for mode, col in cols.items()} for kind, cols in DEFAULT.items()
    }
    for kind, columns in overrides.items():
        if kind not in table or not isinstance(columns, Mapping):
            raise ConfigError(f"TIPLINE_POLICY: unknown kind {kind!r} (comment or tip)")
        for mode, cells in columns.items():
            if mode not in table[kind] or not isinstance(cells, Mapping):
                known = ", ".join(table[kind])
                raise ConfigError(f"TIPLINE_POLICY: {kind} has no mode {mode!r} ({known})")
            for name, status in cells.items():
                try:
                    cell, value = Outcome(name), Status(status)
                except ValueError:
                    raise ConfigError(
                        f"TIPLINE_POLICY: {kind}.{mode}: {name!r}: {status!r} is not an outcome"
                        " and a status"
                    ) from None
                if value not in ALLOWED[kind]:
                    raise ConfigError(f"TIPLINE_POLICY: a {kind} cannot go to {value.value}")
                if cell is Outcome.error and value not in ON_ERROR[kind]:
                    raise ConfigError(
                        f"TIPLINE_POLICY: a {kind} whose checks failed must wait for a person"
                    )
                table[kind][mode][cell] = value
    return table
