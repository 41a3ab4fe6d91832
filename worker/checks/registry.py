"""Which check each name in settings.checks stands for.

The built-in checks have short names ("length", "links", "words", ...). Any other check is named
`package.module:Class` and imported; it must subclass worker.checks.base.Check. Built-in checks
are imported only when named, so a check that is not in use costs nothing.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

from core.config import ConfigError
from worker.checks.base import Check

BUILTIN: dict[str, str] = {
    "length": "worker.checks.length:LengthCheck",
    "links": "worker.checks.links:LinksCheck",
    "words": "worker.checks.words:BlockedWordsCheck",
    "repetition": "worker.checks.repetition:RepetitionCheck",
    "flood": "worker.checks.flood:FloodCheck",
    "reputation": "worker.checks.reputation:ReputationCheck",
    "classifier": "worker.checks.classifier:ClassifierCheck",
    "akismet": "worker.checks.akismet:AkismetCheck",
    "premoderation": "worker.checks.premoderation:PremoderationCheck",
}


@lru_cache(maxsize=8)
def load_checks(names: tuple[str, ...]) -> tuple[Check, ...]:
    """The checks `names` stand for, in order; ConfigError names any that cannot be found."""
    checks = tuple(_check_class(name)() for name in names)
    seen: set[str] = set()
    for check in checks:
        # Results are stored one per (submission, check name).
        if check.name in seen:
            raise ConfigError(f"TIPLINE_CHECKS names the check {check.name!r} twice")
        seen.add(check.name)
    return checks


def _check_class(name: str) -> type[Check]:
    if ":" not in name:
        if name not in BUILTIN:
            known = ", ".join(sorted(BUILTIN))
            raise ConfigError(
                f"TIPLINE_CHECKS: unknown check {name!r} (known: {known}, or module:Class)"
            )
        name = BUILTIN[name]
    module_name, _, class_name = name.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"TIPLINE_CHECKS: cannot import {name!r}: {exc}") from None
    if not (isinstance(found, type) and issubclass(found, Check)):
        raise ConfigError(f"TIPLINE_CHECKS: {name!r} is not a subclass of worker.checks.Check")
    return found
