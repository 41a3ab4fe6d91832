"""The spam classifier as the worker runs it: numpy only, no scikit-learn or scipy.

A model is a linear function of the hashed features of worker.classifier.features, squashed
into a calibrated probability by Platt scaling (p = 1 / (1 + exp(-(a * score + b))), fitted on
cross-validated scores at training time). It is saved with numpy.savez_compressed: the nonzero
weights as bucket indices and float32 values, and one JSON header with everything else.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from worker.classifier.features import FeatureConfig, vectorise

# Raised when the layout of the saved file changes; older code refuses newer files.
FORMAT_VERSION = 1
BASE_MODEL = Path(__file__).with_name("base_model.npz")


class SpamClassifier:
    """A trained spam classifier: text in, calibrated probability of spam out."""

    def __init__(
        self,
        *,
        version: str,
        config: FeatureConfig,
        weights: npt.NDArray[np.float32],
        bias: float,
        calibration: tuple[float, float],
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if weights.shape != (config.n_buckets,):
            raise ValueError(f"{weights.shape[0]} weights for {config.n_buckets} buckets")
        self.version = version
        self.config = config
        self.weights = weights.astype(np.float32, copy=False)
        self.bias = float(bias)
        self.calibration = (float(calibration[0]), float(calibration[1]))
        self.metadata: dict[str, Any] = dict(metadata or {})

    def score(self, text: str) -> float:
        """The uncalibrated linear score of `text`: the higher, the more likely spam."""
        indices, values = vectorise(text, self.config)
        return float(self.weights[indices] @ values) + self.bias

    def probability(self, text: str) -> float:
        """The calibrated probability that `text` is spam."""
        a, b = self.calibration
        # Clamped so that exp cannot overflow on an absurd score.
        z = max(-500.0, min(500.0, a * self.score(text) + b))
        return 1.0 / (1.0 + math.exp(-z))

    @property
    def thresholds(self) -> dict[str, float]:
        """The recommended probability thresholds, {"spam": .., "suspect": ..}, if recorded."""
        return dict(self.metadata.get("thresholds", {}))

    def to_bytes(self) -> bytes:
        """The model as a compressed .npz file: nonzero weights and a JSON header."""
        (indices,) = np.nonzero(self.weights)
        header = {
            "format": FORMAT_VERSION,
            "version": self.version,
            "features": self.config.to_dict(),
            "bias": self.bias,
            "calibration": {"method": "platt", "a": self.calibration[0], "b": self.calibration[1]},
            "metadata": self.metadata,
        }
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            header=np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8),
            indices=indices.astype(np.int32),
            values=self.weights[indices].astype(np.float32),
        )
        return _without_timestamps(buffer.getvalue())

    @classmethod
    def from_bytes(cls, data: bytes) -> SpamClassifier:
        """The model `to_bytes` wrote; ValueError for anything else or another format version."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                header = json.loads(archive["header"].tobytes().decode())
                indices = archive["indices"]
                values = archive["values"]
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(f"not a spam classifier model file: {exc}") from None
        found = header.get("format") if isinstance(header, dict) else None
        if found != FORMAT_VERSION:
            raise ValueError(
                f"spam classifier model format {found!r} is not supported "
                f"(this code reads format {FORMAT_VERSION}); rebuild the model"
            )
        try:
            config = FeatureConfig.from_dict(header["features"])
            calibration = header["calibration"]
            if calibration["method"] != "platt":
                raise ValueError(f"unknown calibration method {calibration['method']!r}")
            platt = (float(calibration["a"]), float(calibration["b"]))
            version, bias = str(header["version"]), float(header["bias"])
            metadata = dict(header.get("metadata") or {})
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"spam classifier model file: incomplete header ({exc!r})") from None
        if indices.ndim != 1 or indices.shape != values.shape or indices.dtype.kind not in "iu":
            raise ValueError("spam classifier model file: indices and values do not match")
        if len(indices) and (indices.min() < 0 or indices.max() >= config.n_buckets):
            raise ValueError("spam classifier model file: a weight index is out of range")
        weights = np.zeros(config.n_buckets, dtype=np.float32)
        weights[indices] = values
        return cls(
            version=version,
            config=config,
            weights=weights,
            bias=bias,
            calibration=platt,
            metadata=metadata,
        )

    def save(self, path: Path | str) -> None:
        """Write the model to `path`."""
        Path(path).write_bytes(self.to_bytes())

    @classmethod
    def load(cls, path: Path | str) -> SpamClassifier:
        """Read a model that `save` wrote."""
        return cls.from_bytes(Path(path).read_bytes())


def _without_timestamps(archive: bytes) -> bytes:
    """`archive` with each member's time set to 1980-01-01, so a rebuilt model is byte-identical."""
    # numpy.savez_compressed stamps every member with the time of writing; the same model should
    # give the same file, so that rebuilding the base model shows no change in git.
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as source, zipfile.ZipFile(out, "w") as target:
        for member in source.infolist():
            stamped = zipfile.ZipInfo(member.filename, date_time=(1980, 1, 1, 0, 0, 0))
            stamped.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(stamped, source.read(member))
    return out.getvalue()


@lru_cache(maxsize=1)
def load_base() -> SpamClassifier:
    """The base model shipped with Tipline (worker/classifier/base_model.npz), loaded once."""
    return SpamClassifier.load(BASE_MODEL)
