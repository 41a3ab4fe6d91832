"""`tipline checks evaluate` and `build-base` as a newsroom runs them on its own exports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.enums import ListName
from core.models import ListEntry, SpamModel
from tests.support import SPAM_DATA, settings_env
from tipline.cli import cli
from worker.classifier.model import SpamClassifier, load_base
from worker.environment import forget

YOUTUBE = SPAM_DATA / "youtube-spam-collection"

EXPORT = [
    {
        "kind": "comment",
        "text": "Muy buen artículo, gracias por contar lo de Holguín.",
        "label": "ham",
    },
    {"kind": "comment", "text": "Great reporting on the blackout, thank you.", "label": "ham"},
    {
        "kind": "comment",
        "text": "RECARGAS A CUBA con bono doble!!! escríbeme al WhatsApp +1 786 555 0101",
        "label": "spam",
    },
    {
        "kind": "comment",
        "text": "Gana dinero desde casa con bitcoin, 500 dólares diarios, info por Telegram",
        "label": "spam",
    },
    {
        "kind": "tip",
        "text": "Trabajo en el puerto de Mariel y desvían el arroz donado. "
        "Llamen al +53 5 234 5678.",
        "label": "ham",
    },
]


@pytest.fixture(autouse=True)
def _fresh_knowledge() -> None:
    forget()


def _run(settings: Settings, args: list[str]) -> Result:
    result = CliRunner().invoke(cli, args, env=settings_env(settings))
    # Errors end in a message and exit code 1, never in a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


def _export(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n")
    return path


def test_evaluate_scores_a_json_lines_export_and_prints_one_json_object(
    settings: Settings, session: Session, tmp_path: Path
) -> None:
    result = _run(settings, ["checks", "evaluate", "--json", str(_export(tmp_path, EXPORT))])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    for key in ("precision", "recall", "f1", "ham_false_positive_rate", "per_second"):
        assert isinstance(figures[key], float), key
    assert (figures["count"], figures["tp"], figures["fn"]) == (5, 2, 0)
    assert (figures["fp"], figures["tn"]) == (0, 3)
    assert figures["f1"] == 1.0 and figures["per_second"] > 0
    assert figures["model"] == load_base().version
    # It learnt nothing from the file.
    assert session.scalar(select(func.count()).select_from(SpamModel)) == 0
    session.commit()


def test_evaluate_uses_the_lists_admins_manage(
    settings: Settings, session: Session, tmp_path: Path
) -> None:
    rows = [
        {
            "kind": "comment",
            "text": "Vendo un refrigerador en buen estado, llamen.",
            "label": "spam",
        },
        {"kind": "comment", "text": "Buen artículo sobre la zafra de este año.", "label": "ham"},
    ]
    path = _export(tmp_path, rows)
    before = json.loads(_run(settings, ["checks", "evaluate", "--json", str(path)]).output)
    assert before["fn"] == 1

    session.add(ListEntry(list=ListName.banned_words, value="refrigerador"))
    session.commit()
    forget()
    after = json.loads(_run(settings, ["checks", "evaluate", "--json", str(path)]).output)
    assert (after["tp"], after["fp"]) == (1, 0)


def test_evaluate_reads_the_youtube_collection_and_prints_a_summary(
    settings: Settings, session: Session
) -> None:
    result = _run(settings, ["checks", "evaluate", str(YOUTUBE / "Youtube05-Shakira.csv")])
    assert result.exit_code == 0, result.output
    assert "370 texts" in result.output
    assert "spam precision" in result.output and "submissions/s" in result.output


def test_evaluate_names_the_line_of_a_malformed_export(
    settings: Settings, session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps(EXPORT[0]) + "\n" + '{"kind": "comment", "text": "sin etiqueta"}\n')
    result = _run(settings, ["checks", "evaluate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:2" in result.output and "label" in result.output

    path.write_text("not json at all\n")
    result = _run(settings, ["checks", "evaluate", str(path)])
    assert result.exit_code == 1 and f"{path}:1" in result.output

    result = _run(settings, ["checks", "evaluate", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_build_base_rebuilds_the_shipped_model_from_the_data(
    settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "base.npz"
    result = _run(settings, ["checks", "build-base", str(SPAM_DATA), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rebuilt, shipped = SpamClassifier.load(out), load_base()
    # Deterministic: the same data and code give the model that ships (to the last bits of a
    # float: another numpy or scikit-learn may round the calibration's fit differently).
    assert rebuilt.version == shipped.version
    assert rebuilt.config == shipped.config
    assert numpy.array_equal(rebuilt.weights, shipped.weights)
    assert rebuilt.bias == pytest.approx(shipped.bias, rel=1e-9)
    assert rebuilt.calibration == pytest.approx(shipped.calibration, rel=1e-9)
    assert rebuilt.thresholds == pytest.approx(shipped.thresholds, rel=1e-6)

    result = _run(settings, ["checks", "build-base", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 1 and "Youtube0" in result.output
