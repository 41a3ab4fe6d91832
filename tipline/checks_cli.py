"""`tipline checks`: retrain the classifier now, evaluate the pipeline, rebuild the base model."""

from __future__ import annotations

import json
from pathlib import Path

import click

from core.config import Settings
from core.db import make_engine, session_scope
from core.enums import ModerationMode
from worker.checks import load_checks
from worker.checks.base import Env
from worker.classifier.datasets import DatasetError, read_any
from worker.classifier.model import BASE_MODEL
from worker.environment import knowledge
from worker.evaluation import evaluate, isolated, pipeline_checks
from worker.floodstore import MemoryFloodStore, flood_store, reachable
from worker.learning import RetrainError, retrain


@click.group("checks")
def checks() -> None:
    """The spam checks and the classifier."""


@checks.command("retrain")
@click.option(
    "--force",
    is_flag=True,
    help="Retrain even if nothing was decided since the last candidate.",
)
def retrain_command(force: bool) -> None:
    """Retrain the classifier from moderators' decisions now; promote it if it is not worse.

    What the worker does every TIPLINE_RETRAIN_INTERVAL_SECONDS. The fit runs in a child
    process; the figures and the decision are shown on the staff site's Tuning › Model page.
    """
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            outcome = retrain(session, settings, force=force)
    except RetrainError as exc:
        raise click.ClickException(f"retraining failed: {exc}") from None
    finally:
        engine.dispose()
    click.echo(outcome.message)


@checks.command("evaluate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.option(
    "--mode",
    type=click.Choice([m.value for m in ModerationMode]),
    default=ModerationMode.post.value,
    show_default=True,
    help="The moderation mode of the article the comments are taken to be on.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds between two texts' arrival, as the flood check sees them.",
)
def evaluate_command(file: Path, as_json: bool, mode: str, interval: float) -> None:
    """Score a labelled FILE through every check and the policy, with the model in use.

    FILE is JSON lines ({"kind": "comment"|"tip", "text": "...", "label": "spam"|"ham"}), a
    YouTube Spam Collection CSV, the SMS Spam Collection file or the Spanish CSV set. Nothing
    is learnt from it. Checks that call outside services (Akismet) are not run; the flood check
    uses its real store, under a prefix of its own.
    """
    settings = isolated(Settings.from_env())
    try:
        records = read_any(file)
    except (DatasetError, UnicodeDecodeError) as exc:
        raise click.ClickException(str(exc)) from None
    if not records:
        raise click.ClickException(f"{file}: no labelled texts in it")
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            known = knowledge(session, settings, fresh=True)
    finally:
        engine.dispose()
    store = flood_store(settings)
    if not reachable(store):
        click.echo(
            f"warning: the flood store ({settings.ratelimit_storage_url}) cannot be reached; "
            "counting copies in memory instead",
            err=True,
        )
        store = MemoryFloodStore()
    env = Env(settings, lists=known.lists, bans=known.bans, model=known.model, flood=store)
    figures = evaluate(
        records,
        pipeline_checks(load_checks(settings.checks)),
        env,
        mode=ModerationMode(mode),
        interval=interval,
    )
    result = {"file": str(file), "model": known.model.version, **figures.as_dict()}
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(
        f"{figures.count:,} texts from {file}, model {known.model.version}\n"
        f"  spam precision {figures.precision:.4f}  recall {figures.recall:.4f}  "
        f"F1 {figures.f1:.4f}\n"
        f"  ham false-positive rate {figures.ham_false_positive_rate:.4f} "
        f"({figures.fp:,} of {figures.fp + figures.tn:,} legitimate texts caught as spam)\n"
        f"  held for a person: {figures.held_ham:,} legitimate, {figures.held_spam:,} spam\n"
        f"  {figures.per_second:,.0f} submissions/s through the pipeline, one at a time"
    )


@checks.command("build-base")
@click.argument(
    "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=BASE_MODEL,
    show_default=True,
    help="Where to write the model file.",
)
def build_base_command(data_dir: Path, out: Path) -> None:
    """Rebuild the base model from the public datasets in DATA_DIR (see docs/spam-data.md)."""
    from worker.classifier.build import build_base

    try:
        model = build_base(data_dir, out)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{out}: {model.version}, {out.stat().st_size:,} bytes, thresholds {model.thresholds}"
    )
