"""Teaching a model the newsroom's own decisions, without the base data and without scikit-learn.

The base datasets are not shipped with Tipline, so a newsroom's model is not retrained from
scratch: it is the model in use, fine-tuned on moderators' decisions. The fine-tuning minimises
the weighted logistic loss of the calibrated probability on those examples plus an L2 pull
towards the starting weights (`anchor`), so that what the base data taught is kept where the
newsroom has said nothing, and moved only where its decisions disagree.

It is plain numpy over the model's own sparse features (a few thousand examples take well under
a second), so the worker can run it in-process without loading scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from worker.classifier.features import vectorise
from worker.classifier.model import SpamClassifier


class Lesson(Protocol):
    """A labelled text (worker.classifier.training.Example is one): how much it weighs."""

    @property
    def text(self) -> str: ...

    @property
    def spam(self) -> bool: ...

    @property
    def weight(self) -> float: ...


def update(
    start: SpamClassifier,
    lessons: Sequence[Lesson],
    *,
    version: str,
    anchor: float = 0.05,
    epochs: int = 60,
    rate: float = 0.5,
) -> SpamClassifier:
    """A copy of `start` fine-tuned on `lessons`; `start` itself is left unchanged.

    `anchor` is the strength of the pull back to the starting weights (per unit of example
    weight); `rate` the step size of the (full-batch, Adagrad-scaled) gradient descent.
    """
    weights = start.weights.astype(np.float64)
    bias = start.bias
    a, b = start.calibration
    rows = [vectorise(lesson.text, start.config) for lesson in lessons]
    labels = np.array([1.0 if lesson.spam else 0.0 for lesson in lessons])
    sample = np.array([lesson.weight for lesson in lessons], dtype=np.float64)
    total = float(sample.sum()) or 1.0
    touched = np.unique(np.concatenate([i for i, _ in rows])) if rows else np.array([], int)
    origin = weights[touched].copy()
    # Adagrad accumulators for the touched weights and the bias.
    history = np.full(len(touched), 1e-8)
    bias_history = 1e-8
    position = {int(index): n for n, index in enumerate(touched)}
    local = [
        (np.array([position[int(i)] for i in indices], dtype=np.int64), values)
        for indices, values in rows
    ]
    current = origin.copy()
    for _ in range(epochs if rows else 0):
        gradient = anchor * (current - origin) * total
        bias_gradient = 0.0
        for (slots, values), label, weight in zip(local, labels, sample, strict=True):
            score = float(current[slots] @ values) + bias
            z = max(-500.0, min(500.0, a * score + b))
            error = (1.0 / (1.0 + math.exp(-z)) - label) * weight * a
            np.add.at(gradient, slots, error * values)
            bias_gradient += error * 0.1  # the bias moves, but slowly: it affects every text
        gradient /= total
        bias_gradient /= total
        history += gradient**2
        bias_history += bias_gradient**2
        current -= rate * gradient / np.sqrt(history)
        bias -= rate * 0.1 * bias_gradient / math.sqrt(bias_history)
    weights[touched] = current
    metadata = dict(start.metadata)
    metadata["fine_tuned_from"] = start.version
    metadata["lessons"] = len(lessons)
    return SpamClassifier(
        version=version,
        config=start.config,
        weights=_as_float32(weights),
        bias=bias,
        calibration=start.calibration,
        metadata=metadata,
    )


def _as_float32(weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    return weights.astype(np.float32)
