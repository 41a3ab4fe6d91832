"""Learning from moderators: their decisions become examples, and a better model takes over.

Every comment a person published is an example of what is not spam, and every comment a person
marked as spam one of what is. (A rejected comment is neither: it was turned down for its tone or
its subject, not for being spam.) Tips are never used: their text is sealed to the newsroom.

`retrain` fine-tunes the starting model (the base model shipped with Tipline, whose datasets are
not shipped) with the newsroom's decisions, each weighing settings.retrain_local_weight base
examples, and compares the candidate with the model in use on what neither learnt from: a fifth of
the decisions, always the same ones (chosen by a hash of the submission's id), and a fixed set of
hand-written canaries (worker.learning_canaries). Each model is judged where it fires, at its
suspect threshold (what holds a comment for a person: the false positives moderators correct),
and where it catches, at its spam threshold (what hides a comment). The candidate takes over only
if it is not worse: F1 where it fires not lower, and neither the share of legitimate comments it
holds or catches nor the share it catches higher. Every candidate is kept as a SpamModel row with
its figures and why it was or was not promoted, which the staff site shows; promotions and
rejections are audited.

The fit runs in a fresh Python process (not a fork, and not multiprocessing, which Celery's pool
processes may not use: they are daemons): scikit-learn and the training arrays never load into the
long-lived worker process, whose memory would otherwise stay high after the first retraining, and
the child shares none of the worker's database connections. That is why this module passes plain
(text, spam, weight, source) tuples around and leaves worker.classifier.training, which imports
scikit-learn, to the child.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import subprocess
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, defer

from core import limits
from core.config import Settings
from core.db import utcnow
from core.enums import Kind, Status
from core.models import AuditEvent, SpamModel, Submission
from core.transitions import SYSTEM
from worker.classifier.model import load_base
from worker.learning_canaries import CANARIES
from worker.learning_canaries import SOURCE as CANARY

if TYPE_CHECKING:
    from worker.classifier.training import Example

log = logging.getLogger(__name__)

# Below this many decisions by moderators there is too little to learn from or to judge with.
MIN_DECISIONS = limits.RETRAIN_MIN_DECISIONS
# The share of decisions (in percent) kept out of training to judge candidates with.
HELD_OUT_PERCENT = 20
# The newest decisions used, at most: enough for any newsroom, and a bound on memory and time.
MAX_DECISIONS = 20_000
# A fit that takes longer than this has gone wrong; the child is stopped. Under the broker's
# visibility timeout (core.queue, 600 s), after which Redis would hand the task out again.
FIT_TIMEOUT_SECONDS = 8 * 60
# Figures closer than this count as equal (F1 and rates are ratios of small counts).
TOLERANCE = 1e-9

PROMOTED = "model_promoted"
REJECTED = "model_rejected"
# trained_on["kind"] of the rows this module writes.
LOCAL = "local"
BASE = "base"

# What comments a person decided say about spam; any other status teaches nothing.
LABELS = {Status.published: False, Status.spam: True}
# Example.source of the moderators' decisions.
NEWSROOM = "newsroom"

# An example as the child process receives it: (text, spam, weight, source).
Sample = tuple[str, bool, float, str]


@dataclass(frozen=True)
class Decision:
    """One comment a person decided: its id (which places it in a slice), its text and label."""

    submission_id: int
    text: str
    spam: bool


@dataclass(frozen=True)
class Retraining:
    """What a run of `retrain` did: the candidate it stored (None when skipped) and why."""

    candidate: SpamModel | None
    promoted: bool
    message: str


@dataclass(frozen=True)
class FitJob:
    """What the child process needs: where to start, what to learn, what to be judged on."""

    version: str
    train: list[Sample]
    evaluation: list[Sample]
    # For the thresholds in force (settings may override the models' own).
    settings: Settings
    # None: the base model shipped with Tipline.
    start_weights: bytes | None
    incumbent_weights: bytes | None


@dataclass(frozen=True)
class FitResult:
    """What the child sends back: the candidate's weights and both models' figures."""

    weights: bytes
    # The figures of both models, as stored in SpamModel.metrics (see `judge`).
    metrics: dict[str, Any]
    incumbent_version: str
    base_version: str
    base_metadata: dict[str, Any] = field(default_factory=dict)
    # The shipped base model's file, when it is the incumbent (it gets a row of its own).
    base_weights: bytes | None = None


class RetrainError(RuntimeError):
    """The fit failed, crashed or ran out of time (the model in use stays)."""


def decisions(session: Session) -> list[Decision]:
    """The newest comments a person published (ham) or marked as spam."""
    rows = session.execute(
        select(Submission.id, Submission.status, Submission.body)
        .where(
            Submission.kind == Kind.comment,
            Submission.decided_by_id.is_not(None),
            Submission.status.in_(LABELS),
            Submission.body.is_not(None),
        )
        .order_by(Submission.decided_at.desc(), Submission.id.desc())
        .limit(MAX_DECISIONS)
    ).all()
    return [Decision(row.id, row.body, LABELS[row.status]) for row in rows if row.body.strip()]


def labelled_examples(session: Session, *, weight: float = 1.0) -> list[Example]:
    """The moderators' decisions on comments as training examples, each of `weight`.

    Imports scikit-learn (with worker.classifier.training): for tools, not the worker.
    """
    from worker.classifier.training import Example

    return [Example(d.text, d.spam, weight, NEWSROOM) for d in decisions(session)]


def is_held_out(submission_id: int) -> bool:
    """Whether this submission's decision is kept out of training, to judge models with.

    A hash of the id, so the same decisions are held out at every run: the model in use never
    learnt from the slice it is judged on. The hash is spread evenly within spam and within ham,
    so each keeps about HELD_OUT_PERCENT of its decisions out.
    """
    return zlib.crc32(f"submission:{submission_id}".encode()) % 100 < HELD_OUT_PERCENT


def split(found: Sequence[Decision]) -> tuple[list[Decision], list[Decision]]:
    """The (training, held-out) decisions; each label with a few decisions has one held out."""
    train = [d for d in found if not is_held_out(d.submission_id)]
    held = [d for d in found if is_held_out(d.submission_id)]
    for spam in (True, False):
        labelled = [d for d in train if d.spam is spam]
        if len(labelled) >= 100 // HELD_OUT_PERCENT and not any(d.spam is spam for d in held):
            # A small, one-sided slice cannot tell a model that flags everything: hold out the
            # one with the lowest hash (stable until a decision with a lower one arrives).
            chosen = min(labelled, key=lambda d: (_slot(d.submission_id), d.submission_id))
            train.remove(chosen)
            held.append(chosen)
    return train, held


def _slot(submission_id: int) -> int:
    return zlib.crc32(f"submission:{submission_id}".encode()) % 100


def retrain(
    session: Session, settings: Settings, *, now: datetime | None = None, force: bool = False
) -> Retraining:
    """Train a candidate from the moderators' decisions, judge it, promote it if not worse.

    Skipped with fewer than MIN_DECISIONS decisions, or when nothing was decided since the last
    candidate (unless `force`). The session's transaction is closed while the child fits.
    """
    now = now or utcnow()
    found = decisions(session)
    if len(found) < MIN_DECISIONS:
        session.rollback()
        return _skipped(
            f"retraining skipped: {len(found)} comments decided by moderators as published or "
            f"spam, at least {MIN_DECISIONS} are needed"
        )
    active = session.scalars(
        select(SpamModel).where(SpamModel.active).order_by(SpamModel.id.desc()).limit(1)
    ).first()
    start_id, start_version, start_weights = _starting_point(session, active)
    # The shipped base model's version counts too: an upgrade that ships a new one retrains.
    fingerprint = _fingerprint(found, start_version or load_base().version)
    last = session.scalars(
        select(SpamModel).options(defer(SpamModel.weights)).order_by(SpamModel.id.desc()).limit(1)
    ).first()
    if not force and last is not None and last.trained_on.get("fingerprint") == fingerprint:
        session.rollback()
        return _skipped(
            f"retraining skipped: nothing was decided since candidate {last.version} was trained"
        )
    train, held_out = split(found)
    version = _new_version(session, now)
    weight = settings.retrain_local_weight
    job = FitJob(
        version=version,
        train=[(d.text, d.spam, weight, NEWSROOM) for d in train],
        evaluation=[(d.text, d.spam, 1.0, NEWSROOM) for d in held_out]
        + [(text, spam, 1.0, CANARY) for text, spam in CANARIES],
        settings=settings,
        start_weights=start_weights,
        incumbent_weights=active.weights if active is not None else None,
    )
    active_id = active.id if active is not None else None
    # No transaction stays open while the child works (on SQLite it would hold the write lock).
    session.rollback()
    log.info("retraining %s on %d decisions (%d held out)", version, len(train), len(held_out))
    result = fit_in_child(job)

    promote, note = judge(result.metrics)
    candidate = SpamModel(
        version=version,
        weights=result.weights,
        active=promote,
        promoted=promote,
        trained_on={
            "kind": LOCAL,
            "from": start_version or result.base_version,
            "from_id": start_id,
            "base": result.base_version,
            **_base_counts(result.base_metadata),
            "local_spam": sum(d.spam for d in train),
            "local_ham": sum(not d.spam for d in train),
            "held_out_spam": sum(d.spam for d in held_out),
            "held_out_ham": sum(not d.spam for d in held_out),
            "canaries": len(CANARIES),
            "local_weight": settings.retrain_local_weight,
            "fingerprint": fingerprint,
        },
        metrics=result.metrics,
        note=note[: limits.REASON_MAX],
        created_at=now,
    )
    _lock_models(session)
    if active_id is None and result.base_weights is not None:
        _record_base(session, result, now)
    if promote:
        # Exactly one active model: the lock above makes concurrent promotions take turns.
        session.execute(
            update(SpamModel)
            .where(SpamModel.active)
            .values(active=False)
            .execution_options(synchronize_session=False)
        )
    session.add(candidate)
    session.add(
        AuditEvent(
            at=now,
            actor_label=SYSTEM,
            action=PROMOTED if promote else REJECTED,
            reason=f"{version}: {note}"[: limits.REASON_MAX],
        )
    )
    session.commit()
    log.info("spam model %s: %s", version, note)
    return Retraining(candidate, promote, f"{version}: {note}")


def judge(metrics: dict[str, Any]) -> tuple[bool, str]:
    """Whether the candidate is not worse than the incumbent, and the note that says why.

    `metrics` holds each model's figures where it fires ("candidate", "incumbent") and where it
    catches ("candidate_caught", "incumbent_caught"), and the incumbent's version.
    """
    before = metrics["incumbent_version"]
    f1, f1_before = metrics["candidate"]["f1"], metrics["incumbent"]["f1"]
    held, held_before = (metrics[m][HAM_RATE] for m in ("candidate", "incumbent"))
    caught, caught_before = (metrics[m][HAM_RATE] for m in ("candidate_caught", "incumbent_caught"))
    if f1 < f1_before - TOLERANCE:
        return False, f"kept {before}: F1 {f1:.2f} < {f1_before:.2f}"
    if held > held_before + TOLERANCE:
        return False, f"kept {before}: legitimate comments held {held:.1%} > {held_before:.1%}"
    if caught > caught_before + TOLERANCE:
        return False, (
            f"kept {before}: legitimate comments caught as spam {caught:.1%} > {caught_before:.1%}"
        )
    return True, (
        f"promoted over {before}: F1 {f1:.2f} ≥ {f1_before:.2f}, legitimate comments held "
        f"{held:.1%} ≤ {held_before:.1%}, caught as spam {caught:.1%} ≤ {caught_before:.1%}"
    )


def _skipped(message: str) -> Retraining:
    log.info("%s", message)
    return Retraining(None, False, message)


def _starting_point(
    session: Session, active: SpamModel | None
) -> tuple[int | None, str | None, bytes | None]:
    """The (id, version, weights) a candidate is fine-tuned from; Nones for the shipped base.

    Always the model the newsroom's decisions have not been added to yet: a local model is not
    fine-tuned again with the same decisions (they would count twice, then three times...). That
    is the shipped base model, or a model trained from datasets by another tool and made active.
    """
    if active is None:
        return None, None, None
    if active.trained_on.get("kind") not in (LOCAL, BASE):
        return active.id, active.version, active.weights
    start_id = active.trained_on.get("from_id")
    if active.trained_on.get("kind") == LOCAL and isinstance(start_id, int):
        start = session.get(SpamModel, start_id)
        if start is not None and start.trained_on.get("kind") not in (LOCAL, BASE):
            return start.id, start.version, start.weights
    return None, None, None


def _fingerprint(found: Sequence[Decision], start: str) -> str:
    digest = hashlib.sha256(f"from:{start}".encode())
    for decision in sorted(found, key=lambda d: d.submission_id):
        digest.update(f";{decision.submission_id}:{int(decision.spam)}".encode())
    return digest.hexdigest()


def _new_version(session: Session, now: datetime) -> str:
    stem = f"local-{now:%Y%m%d-%H%M%S}"
    taken = set(
        session.scalars(select(SpamModel.version).where(SpamModel.version.startswith(stem)))
    )
    version, n = stem, 1
    while version in taken:
        n += 1
        version = f"{stem}-{n}"
    return version


def _base_counts(metadata: dict[str, Any]) -> dict[str, Any]:
    counts = metadata.get("trained_on")
    if not isinstance(counts, dict):
        return {}
    return {
        f"base_{key}" if not str(key).startswith("base_") else str(key): value
        for key, value in counts.items()
        if isinstance(value, int | float)
    }


def _lock_models(session: Session) -> None:
    # On PostgreSQL two retrainings (the schedule and `tipline checks retrain`) could otherwise
    # both promote and leave two active models. SQLite's write lock already serialises them.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(0x7EA1_0001)))


def _record_base(session: Session, result: FitResult, now: datetime) -> None:
    """A row for the shipped base model, the first time it is judged, so the staff site shows it.

    It is not made active: with no active row the worker uses the base model of the installed
    version, so an upgrade that ships a better base model takes effect without a retraining.
    """
    exists = session.scalar(select(SpamModel.id).where(SpamModel.version == result.base_version))
    if exists is not None or result.base_weights is None:
        return
    session.add(
        SpamModel(
            version=result.base_version,
            weights=result.base_weights,
            active=False,
            promoted=True,
            trained_on={"kind": BASE, **_base_counts(result.base_metadata)},
            metrics={
                key: value for key, value in result.metrics.items() if key.startswith("incumbent")
            },
            note="the base model shipped with Tipline",
            created_at=now,
        )
    )


# What the child process runs: read a pickled FitJob on stdin, answer on stdout.
CHILD = "from worker.learning import serve; serve()"


def fit_in_child(job: FitJob, timeout: float = FIT_TIMEOUT_SECONDS) -> FitResult:
    """Run `fit` in a new Python process and return its result; RetrainError if it fails."""
    # The child finds the code where this process found it.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD],
            input=pickle.dumps(job),
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RetrainError(f"the fit took longer than {timeout:.0f} s and was stopped") from None
    if done.returncode != 0:
        # Its last line only (the exception): a traceback's other lines could quote anything.
        last = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise RetrainError(f"the fit's process exited with {done.returncode}: {''.join(last)}")
    # Our own child's answer, over a pipe only the two processes hold: safe to unpickle.
    ok, value = pickle.loads(done.stdout)  # noqa: S301
    if not ok:
        raise RetrainError(value)
    if not isinstance(value, FitResult):
        raise RetrainError(f"the fit's process answered with a {type(value).__name__}")
    return value


def serve() -> None:
    """The child process: read a FitJob on stdin, write (True, FitResult) or (False, why)."""
    job = pickle.load(sys.stdin.buffer)  # noqa: S301  (from the parent that started us)
    # Whatever the fit prints (Python or C code) goes to stderr: stdout carries the answer only.
    answer = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        outcome: tuple[bool, Any] = (True, fit(job))
    except Exception as exc:  # reported to the parent, which raises RetrainError
        outcome = (False, f"{type(exc).__name__}: {exc}")
    answer.write(pickle.dumps(outcome))
    answer.close()


def fit(job: FitJob) -> FitResult:
    """Fine-tune the starting model with `job.train`; judge it and the incumbent on the rest.

    Imports scikit-learn (through worker.classifier.training): call it in a child process.
    """
    from worker.checks.base import Env
    from worker.checks.classifier import thresholds
    from worker.classifier.model import SpamClassifier, load_base
    from worker.classifier.training import Example, evaluate
    from worker.classifier.update import update

    train = [Example(*sample) for sample in job.train]
    evaluation = [Example(*sample) for sample in job.evaluation]
    base = load_base()
    start = SpamClassifier.from_bytes(job.start_weights) if job.start_weights else base
    if job.incumbent_weights is not None:
        incumbent = SpamClassifier.from_bytes(job.incumbent_weights)
    else:
        incumbent = base
    candidate = update(start, train, version=job.version)
    metrics: dict[str, Any] = {"incumbent_version": incumbent.version, "thresholds": {}}
    for name, model in (("candidate", candidate), ("incumbent", incumbent)):
        # The thresholds the classifier check would use with this model.
        spam_at, suspect_at = thresholds(Env.of(job.settings, model=model))
        metrics["thresholds"][name] = {"spam": spam_at, "suspect": suspect_at}
        metrics[name] = figures(evaluate(model, evaluation, threshold=suspect_at))
        metrics[f"{name}_caught"] = figures(evaluate(model, evaluation, threshold=spam_at))
    return FitResult(
        weights=candidate.to_bytes(),
        metrics=metrics,
        incumbent_version=incumbent.version,
        base_version=base.version,
        base_metadata=dict(base.metadata),
        base_weights=base.to_bytes() if job.incumbent_weights is None else None,
    )


RATES = ("precision", "recall", "f1", "ham_false_positive_rate")
COUNTS = ("tp", "fp", "tn", "fn")
HAM_RATE = "ham_false_positive_rate"


def figures(metrics: Any) -> dict[str, float]:
    """An evaluation's figures as plain JSON numbers: rates as floats, counts as integers."""
    found: dict[str, float] = {name: float(getattr(metrics, name)) for name in RATES}
    found.update({name: int(getattr(metrics, name)) for name in COUNTS})
    return found
