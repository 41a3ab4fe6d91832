"""Precision, recall, F1 and the ham false-positive rate from confusion counts; spam is positive.

Shared by the classifier's figures (worker.classifier.training.Metrics) and the whole
pipeline's (worker.evaluation.Figures); no numpy, no scikit-learn.
"""

from __future__ import annotations


class Rates:
    """Mixed into a class with integer attributes tp, fp, tn and fn."""

    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def precision(self) -> float:
        """Of the texts called spam, the share that is spam."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        """Of the spam, the share called spam."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        """The harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def ham_false_positive_rate(self) -> float:
        """Of the legitimate texts, the share called spam."""
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0
