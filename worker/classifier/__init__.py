"""The statistical spam classifier: hashed word and character n-grams, a linear model, numpy.

worker.classifier.model is what the worker loads (numpy only: no scikit-learn, no scipy);
worker.classifier.training, datasets and build train and rebuild models with scikit-learn, and
are never imported by the worker. docs/spam-data.md tells where the base model's data came from.
"""

from worker.classifier.model import SpamClassifier, load_base

__all__ = ["SpamClassifier", "load_base"]
