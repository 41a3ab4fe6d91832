"""`tipline checks`: the spam checks from the command line (retrain the classifier now)."""

from __future__ import annotations

import click

from core.config import Settings
from core.db import make_engine, session_scope
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
