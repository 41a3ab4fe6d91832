"""Rebuilding the shipped base model, worker/classifier/base_model.npz, from the public data.

    .venv/bin/python -m worker.classifier.build [DATA_DIR] [OUT]

DATA_DIR holds the collections as described in its SOURCE.md files (by default the shared
folder beside the repository, ../shared/data/spam). The build is deterministic: the same data,
code and library versions give a byte-identical file, whose metadata records the data's
SHA-256 sums and the versions it was built with.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import sklearn

from worker.classifier.datasets import (
    SEED_HAM,
    SEED_SPAM,
    SEED_WEIGHT,
    SMS_FILE,
    YOUTUBE_DIR,
    base_examples,
)
from worker.classifier.model import BASE_MODEL, SpamClassifier
from worker.classifier.training import train

# Raised with every rebuild that changes the model; stored with each check result it gives.
BASE_VERSION = "base-3"
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "spam"


def provenance(data_dir: Path) -> dict[str, Any]:
    """The files the base model is trained on, with their SHA-256 sums, and the seed's size."""
    files = [*sorted((data_dir / YOUTUBE_DIR).glob("Youtube0*.csv")), data_dir / SMS_FILE]
    return {
        "files": {
            str(path.relative_to(data_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in files
        },
        "seed": {"spam": len(SEED_SPAM), "ham": len(SEED_HAM), "weight": SEED_WEIGHT},
        "not_used": ["spam-ham-spanish-softecapps (synthetic; see docs/spam-data.md)"],
    }


def build_base(
    data_dir: Path | str = DEFAULT_DATA_DIR, out_path: Path | str = BASE_MODEL
) -> SpamClassifier:
    """Train the base model on `data_dir` (datasets.base_examples) and write it to `out_path`."""
    data_dir = Path(data_dir)
    model = train(
        base_examples(data_dir),
        version=BASE_VERSION,
        metadata={
            "data": provenance(data_dir),
            "built_with": {"numpy": np.__version__, "scikit-learn": sklearn.__version__},
        },
    )
    model.save(out_path)
    return model


def main() -> None:
    """Command line: rebuild the base model and say where it went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("out", nargs="?", type=Path, default=BASE_MODEL)
    args = parser.parse_args()
    model = build_base(args.data_dir, args.out)
    size = args.out.stat().st_size
    print(f"{args.out}: {model.version}, {size:,} bytes, thresholds {model.thresholds}")


if __name__ == "__main__":
    main()
