"""The statistical spam classifier: a calibrated spam probability from word and character n-grams.

The model in use is the active one the staff site shows (retrained from moderators' decisions,
worker.learning), or the base model shipped with Tipline. Its version is stored with every
result, so a moderator can tell which model said what.

A comment at or above the spam threshold is spam, at or above the suspect threshold it is held.
A tip needs more: sources write with phone numbers, addresses and links, as spammers do, and a
source's tip in the spam folder may never be read. A tip is spam only at TIP_SPAM_AT (or the spam
threshold if that is higher), and otherwise at most suspect (editors see every tip and its
reasons). The thresholds are the model's own recommendation (chosen on its training data)
unless settings.classifier_spam_threshold / _suspect_threshold set them.
"""

from __future__ import annotations

from core.enums import Kind, Verdict
from core.i18n import N_
from worker.checks.base import Check, Content, Env, Result

DEFAULT_THRESHOLDS = {"spam": 0.9, "suspect": 0.5}
# The least probability at which a tip is called spam.
TIP_SPAM_AT = 0.97


class ClassifierCheck(Check):
    """Spam, suspect or ok by the active model's spam probability for the text."""

    name = "classifier"
    version = "1"

    def run(self, content: Content, env: Env) -> Result:
        """The verdict by threshold; the probability and the model's version in the params."""
        model = env.model
        if model is None:
            raise RuntimeError("no spam model loaded")
        probability = model.probability(content.text)
        spam_at, suspect_at = thresholds(env)
        params = {
            "percent": round(probability * 100),
            "probability": round(probability, 4),
            "model": model.version,
        }
        if content.kind is Kind.tip:
            spam_at = max(spam_at, TIP_SPAM_AT)
        if probability >= spam_at:
            verdict = Verdict.spam
        elif probability >= suspect_at:
            verdict = Verdict.suspect
        else:
            verdict = Verdict.ok
        return Result(
            verdict, probability, N_("spam probability %(percent)d%% (model %(model)s)"), params
        )


def thresholds(env: Env) -> tuple[float, float]:
    """The (spam, suspect) probability thresholds in force."""
    recommended = {**DEFAULT_THRESHOLDS}
    if env.model is not None:
        recommended.update(env.model.metadata.get("thresholds") or {})
    spam_at = env.settings.classifier_spam_threshold or float(recommended["spam"])
    suspect_at = env.settings.classifier_suspect_threshold or float(recommended["suspect"])
    return spam_at, min(suspect_at, spam_at)
