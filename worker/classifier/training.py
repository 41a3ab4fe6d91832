"""Training and evaluating a SpamClassifier with scikit-learn; never imported by the worker.

`train` fits a linear support vector machine on the hashed features, with each example's
weight (a newsroom's own moderator decisions can count several times a base example), adds a
share of naive Bayes' log-odds to its weights, then calibrates its scores with Platt scaling on
cross-validated scores of the same training data, and picks the recommended "spam" and
"suspect" thresholds on those same cross-validated probabilities: nothing is tuned on the data a
model is later evaluated on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold
from sklearn.svm import LinearSVC

from worker.classifier.features import FeatureConfig, vectorise
from worker.classifier.model import SpamClassifier
from worker.classifier.rates import Rates

# The largest share of ham the recommended thresholds may flag, on cross-validated training
# data: spam is hidden from readers, suspect only waits for a moderator.
SPAM_MAX_HAM_RATE = 0.01
SUSPECT_MAX_HAM_RATE = 0.03


@dataclass(frozen=True)
class Example:
    """One labelled text to learn from; `weight` counts it that many times."""

    text: str
    spam: bool
    weight: float = 1.0
    # Where it came from ("youtube:Psy", "sms", "newsroom"); see train(source_weights=...).
    source: str = ""


@dataclass(frozen=True)
class Metrics(Rates):
    """How a model's verdicts at one threshold compare with the labels; spam is positive."""

    threshold: float
    tp: int
    fp: int
    tn: int
    fn: int

    def as_dict(self) -> dict[str, float]:
        """Counts and rates, for printing or JSON."""
        return {
            **asdict(self),
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "ham_false_positive_rate": self.ham_false_positive_rate,
        }


def featurise(texts: Sequence[str], config: FeatureConfig) -> sp.csr_matrix:
    """The feature matrix of `texts`, one row each, as `vectorise` computes them."""
    indptr = [0]
    all_indices = []
    all_values = []
    for text in texts:
        indices, values = vectorise(text, config)
        all_indices.append(indices)
        all_values.append(values)
        indptr.append(indptr[-1] + len(indices))
    matrix = sp.csr_matrix(
        (
            np.concatenate(all_values) if all_values else np.zeros(0),
            np.concatenate(all_indices).astype(np.int32) if all_indices else np.zeros(0, np.int32),
            np.array(indptr, dtype=np.int32),
        ),
        shape=(len(texts), config.n_buckets),
    )
    # A bucket that two blocks share is one feature: add its values, as the model's dot does.
    matrix.sum_duplicates()
    return matrix


@dataclass(frozen=True)
class Linear:
    """A linear scorer: weights over the buckets and a bias."""

    weights: npt.NDArray[np.float64]
    bias: float

    def scores(self, x: sp.csr_matrix) -> npt.NDArray[np.float64]:
        """The score of each row of `x`."""
        return np.asarray(x @ self.weights) + self.bias


def naive_bayes(
    x: sp.csr_matrix, y: npt.NDArray[np.bool_], weights: npt.NDArray[np.float64], alpha: float
) -> Linear:
    """Multinomial naive Bayes as a linear scorer: its log-odds of spam."""
    spam = np.asarray(x.T @ np.where(y, weights, 0.0))
    ham = np.asarray(x.T @ np.where(y, 0.0, weights))
    n = x.shape[1]
    log_odds = np.log(spam + alpha) - np.log(ham + alpha)
    log_odds -= np.log(spam.sum() + alpha * n) - np.log(ham.sum() + alpha * n)
    # Buckets no training text has get no weight rather than the constant smoothing gives them:
    # the saved model keeps only the nonzero weights.
    log_odds[spam + ham == 0] = 0.0
    prior = math.log(weights[y].sum() / weights[~y].sum())
    return Linear(log_odds, prior)


def fit_linear(
    x: sp.csr_matrix,
    y: npt.NDArray[np.bool_],
    weights: npt.NDArray[np.float64],
    *,
    c: float,
    nb_weight: float,
    nb_alpha: float,
    seed: int,
) -> Linear:
    """A linear SVM interpolated with naive Bayes: w = w_svm + nb_weight * w_nb."""
    # dual=True, liblinear's dual coordinate descent, is the fast one with far more features than
    # examples. Adding naive Bayes' log-odds (Wang & Manning's NBSVM interpolation, ACL 2012)
    # improved spam F1 at a 2 % ham false-positive rate on both collections (docs/spam-data.md).
    svm = LinearSVC(C=c, dual=True, max_iter=5000, random_state=seed)
    svm.fit(x, y, sample_weight=weights)
    w = svm.coef_[0].astype(np.float64)
    b = float(svm.intercept_[0])
    if nb_weight:
        nb = naive_bayes(x, y, weights, nb_alpha)
        w = w + nb_weight * nb.weights
        b += nb_weight * nb.bias
    return Linear(w, b)


def _folds(
    y: npt.NDArray[np.bool_], groups: npt.NDArray[np.str_] | None, n: int, seed: int
) -> Iterator[tuple[Any, Any]]:
    if groups is not None:
        return LeaveOneGroupOut().split(y, y, groups)
    smaller = int(min(y.sum(), (~y).sum()))
    return StratifiedKFold(min(n, smaller), shuffle=True, random_state=seed).split(y, y)


def cross_val_scores(
    x: sp.csr_matrix,
    y: npt.NDArray[np.bool_],
    weights: npt.NDArray[np.float64],
    *,
    folds: int,
    seed: int,
    split_seed: int | None = None,
    groups: npt.NDArray[np.str_] | None = None,
    **fit: Any,
) -> npt.NDArray[np.float64]:
    """Each example's score from a model fitted (by fit_linear) on the other folds or groups.

    `split_seed` (default `seed`) shuffles the folds; `seed` is the learner's.
    """
    scores = np.zeros(len(y))
    splits = seed if split_seed is None else split_seed
    for rest, held in _folds(y, groups, folds, splits):
        model = fit_linear(x[rest], y[rest], weights[rest], seed=seed, **fit)
        scores[held] = model.scores(x[held])
    return scores


def platt(
    scores: npt.NDArray[np.float64], y: npt.NDArray[np.bool_], weights: npt.NDArray[np.float64]
) -> tuple[float, float]:
    """Platt's a and b: P(spam | score) = 1 / (1 + exp(-(a * score + b)))."""
    # Platt (1999) fits to smoothed targets, which keeps a finite for separable scores; a
    # barely regularised logistic regression on the one score does the same job.
    fit = LogisticRegression(C=1e4).fit(scores.reshape(-1, 1), y, sample_weight=weights)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def pick_threshold(
    probabilities: npt.NDArray[np.float64],
    y: npt.NDArray[np.bool_],
    weights: npt.NDArray[np.float64],
    max_ham_rate: float,
) -> float:
    """The threshold of best (weighted) F1 among those flagging at most `max_ham_rate` of ham."""
    order = np.argsort(-probabilities, kind="stable")
    p, spam, w = probabilities[order], y[order], weights[order]
    # Flagging the first k texts: true and false positives so far.
    tp = np.cumsum(np.where(spam, w, 0.0))
    fp = np.cumsum(np.where(spam, 0.0, w))
    total_spam, total_ham = tp[-1], fp[-1]
    # Only cut between different probabilities: a threshold flags all texts that share one.
    last = np.append(p[1:] != p[:-1], True)
    f1 = 2 * tp / (tp + fp + total_spam)
    allowed = last & (fp <= max_ham_rate * total_ham)
    if not allowed.any():
        return 1.0
    k = int(np.argmax(np.where(allowed, f1, -1.0)))
    # Halfway to the next lower probability, so that scores a little off still fall alike.
    below = p[k + 1] if k + 1 < len(p) else 0.0
    return float((p[k] + below) / 2)


def lowest_threshold(
    probabilities: npt.NDArray[np.float64],
    y: npt.NDArray[np.bool_],
    weights: npt.NDArray[np.float64],
    max_ham_rate: float,
) -> float:
    """The lowest threshold that flags at most `max_ham_rate` of the (weighted) ham."""
    ham = np.sort(probabilities[~y])[::-1]
    ham_weights = weights[~y][np.argsort(probabilities[~y])[::-1]]
    flagged = np.cumsum(ham_weights)
    # The k highest-scoring ham may be flagged; the threshold goes just above the next one.
    k = int(np.searchsorted(flagged, max_ham_rate * flagged[-1], side="right"))
    return 0.0 if k >= len(ham) else float(np.nextafter(ham[k], 1.0))


def train(
    examples: Sequence[Example],
    *,
    version: str,
    config: FeatureConfig | None = None,
    source_weights: Mapping[str, float] | None = None,
    c: float = 1.0,
    nb_weight: float = 0.07,
    nb_alpha: float = 0.01,
    folds: int = 5,
    cv_repeats: int = 5,
    cv_by_source: bool = False,
    spam_max_ham_rate: float = SPAM_MAX_HAM_RATE,
    suspect_max_ham_rate: float = SUSPECT_MAX_HAM_RATE,
    seed: int = 0,
    metadata: Mapping[str, Any] | None = None,
) -> SpamClassifier:
    """A classifier fitted to `examples`, each weighing example.weight x source_weights[source].

    `c` is the SVM's inverse regularisation; `nb_weight` and `nb_alpha` the share and smoothing
    of naive Bayes in the weights; `folds` the cross-validation folds that calibration and the
    thresholds are fitted on (by source, leaving one source out at a time, if `cv_by_source`),
    repeated `cv_repeats` times with different splits and pooled; the thresholds are the best F1
    flagging at most `spam_max_ham_rate` of cross-validated ham, and the lowest flagging at most
    `suspect_max_ham_rate` of it.
    """
    config = config or FeatureConfig()
    y = np.array([example.spam for example in examples], dtype=bool)
    if y.all() or not y.any():
        raise ValueError("training needs both spam and ham examples")
    source_weights = source_weights or {}
    weights = np.array(
        [example.weight * source_weights.get(example.source, 1.0) for example in examples]
    )
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("example weights must be finite and not negative")
    if not weights[y].sum() > 0 < weights[~y].sum():
        raise ValueError("training needs spam and ham examples of positive weight")
    x = featurise([example.text for example in examples], config)
    groups = np.array([example.source for example in examples]) if cv_by_source else None
    fit = {"c": c, "nb_weight": nb_weight, "nb_alpha": nb_alpha}
    # One split's scores move the thresholds by a comment or two (a fifth of a point of F1 on
    # YouTube); several splits pooled give steadier ones. Leaving a source out has one split.
    repeats = 1 if cv_by_source else max(1, cv_repeats)
    scores = np.concatenate(
        [
            cross_val_scores(
                x,
                y,
                weights,
                folds=folds,
                seed=seed,
                split_seed=seed + 1000 * r,
                groups=groups,
                **fit,
            )
            for r in range(repeats)
        ]
    )
    pooled_y, pooled_weights = np.tile(y, repeats), np.tile(weights, repeats)
    a, b = platt(scores, pooled_y, pooled_weights)
    probabilities = 1.0 / (1.0 + np.exp(-(a * scores + b)))
    spam = pick_threshold(probabilities, pooled_y, pooled_weights, spam_max_ham_rate)
    suspect = min(
        spam, lowest_threshold(probabilities, pooled_y, pooled_weights, suspect_max_ham_rate)
    )
    final = fit_linear(x, y, weights, seed=seed, **fit)
    counts: dict[str, int] = {}
    for example in examples:
        counts[example.source] = counts.get(example.source, 0) + 1
    info = {
        "thresholds": {"spam": spam, "suspect": suspect},
        "trained_on": {
            "examples": len(examples),
            "spam": int(y.sum()),
            "ham": int((~y).sum()),
            "sources": dict(sorted(counts.items())),
        },
        "estimator": {
            "kind": "LinearSVC+NB",
            **fit,
            "cv_folds": folds,
            "cv_repeats": repeats,
            "seed": seed,
        },
        "threshold_targets": {"spam": spam_max_ham_rate, "suspect": suspect_max_ham_rate},
        **(metadata or {}),
    }
    return SpamClassifier(
        version=version,
        config=config,
        weights=final.weights.astype(np.float32),
        bias=final.bias,
        calibration=(a, b),
        metadata=info,
    )


def evaluate(
    model: SpamClassifier | Callable[[str], float],
    examples: Sequence[Example],
    *,
    threshold: float | None = None,
) -> Metrics:
    """`model`'s verdicts on `examples` at `threshold` (default: the model's spam threshold)."""
    if threshold is None:
        if not isinstance(model, SpamClassifier) or "spam" not in model.thresholds:
            raise ValueError("no threshold given and the model recommends none")
        threshold = model.thresholds["spam"]
    probability = model.probability if isinstance(model, SpamClassifier) else model
    tp = fp = tn = fn = 0
    for example in examples:
        flagged = probability(example.text) >= threshold
        if example.spam:
            tp += flagged
            fn += not flagged
        else:
            fp += flagged
            tn += not flagged
    return Metrics(threshold=threshold, tp=tp, fp=fp, tn=tn, fn=fn)
