"""Alembic: one head, and the migrated schema equals the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from core.db import Base
from core.migrate import alembic_config
from core.search import excluded_from_schema_comparison


def test_there_is_a_single_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    # The test database was built by running the migrations (see conftest).
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, parent: (
                    not excluded_from_schema_comparison(name)
                ),
            },
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
