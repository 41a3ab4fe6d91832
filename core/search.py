"""Full-text search of comments: PostgreSQL's text search, or SQLite's FTS5.

The index is created by a migration (0004) with `install`; `matches` is the WHERE clause a queue
adds for a search term. Both backends take the same terms the same way: every word must appear,
each as a word or the start of one ("apag" finds "apagones"). PostgreSQL uses the `simple`
configuration (no stemming), so that Spanish and English comments are searched alike.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# Registers PostgreSQL's text-search functions with SQLAlchemy: without it, func.to_tsquery
# fails to compile in a process (gunicorn's) where nothing imported the dialect first.
import sqlalchemy.dialects.postgresql  # noqa: F401
from sqlalchemy import ColumnElement, Connection, func, literal_column, text

from core import limits
from core.models import Submission

# Names the schema comparison in the migration tests leaves out: Alembic cannot describe an
# FTS5 table or an expression index, so they live outside the models. (The SQL below spells
# them out rather than building strings.)
FTS_TABLE = "submissions_fts"
FTS_INDEX = "ix_submissions_body_fts"
FTS_COLUMN = "body_tsv"
# The words of a search at most; more narrows nothing a moderator needs.
MAX_WORDS = 8

_WORD = re.compile(r"\w+", re.UNICODE)

# PostgreSQL: a stored, generated tsvector column with a GIN index. Stored, so that a query the
# planner answers by walking a queue's index in order (a frequent word) reads the vector instead
# of computing it from the text row after row. Accents are folded on both sides (translate() is
# immutable, so it may generate a column), as SQLite's remove_diacritics does: "apagon" finds
# "apagón" on either backend.
_ACCENTED = "áàâäãåéèêëíìîïóòôöõúùûüñçÁÀÂÄÃÅÉÈÊËÍÌÎÏÓÒÔÖÕÚÙÛÜÑÇ"
_PLAIN = "aaaaaaeeeeiiiiooooouuuuncAAAAAAEEEEIIIIOOOOOUUUUNC"
_PG_DOCUMENT: ColumnElement[Any] = literal_column(f"submissions.{FTS_COLUMN}")
_PG_SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")
# How many words PostgreSQL keeps frequencies of for the search column (its default is 100,
# giving 1,000 words). With the default, a word it has no figure for was guessed to be in 0.4 %
# of comments, so a search for a name no comment has made the planner walk the whole queue in
# order hoping to meet 50 matches: half a second on a million comments. With 10,000 words
# known, an unknown one is guessed rare and found through the index in under a millisecond.
STATISTICS_TARGET = 1000


def words(term: str) -> list[str]:
    """The words of a search term, lower-cased, accents folded; punctuation and syntax dropped."""
    decomposed = unicodedata.normalize("NFKD", term[: limits.SEARCH_MAX].lower())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD.findall(folded)[:MAX_WORDS]


def matches(term: str, dialect: str) -> ColumnElement[bool] | None:
    """The condition "the submission's text has every word of `term`"; None if it has none."""
    found = words(term)
    if not found:
        return None
    if dialect == "postgresql":
        # Each word is letters and digits only, so it cannot carry tsquery operators.
        query = " & ".join(f"{word}:*" for word in found)
        return _PG_DOCUMENT.op("@@")(func.to_tsquery(_PG_SIMPLE, query))
    fts_query = " ".join(f'"{word}"*' for word in found)
    return Submission.id.in_(
        text("SELECT rowid FROM submissions_fts WHERE submissions_fts MATCH :fts_query").bindparams(
            fts_query=fts_query
        )
    )


def install(connection: Connection) -> None:
    """Create the search index for this backend and fill it from the existing rows.

    On SQLite, run it again after any migration that rebuilds the submissions table (batch
    mode): a rebuilt table loses its triggers.
    """
    if connection.dialect.name == "postgresql":
        assert len(_ACCENTED) == len(_PLAIN)
        connection.execute(
            text(
                "ALTER TABLE submissions ADD COLUMN IF NOT EXISTS body_tsv tsvector "
                "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, "
                f"translate(coalesce(body, ''), '{_ACCENTED}', '{_PLAIN}'))) STORED"
            )
        )
        connection.execute(
            text(
                "CREATE INDEX IF NOT EXISTS ix_submissions_body_fts "
                "ON submissions USING gin (body_tsv)"
            )
        )
        tune_statistics(connection)
        return
    # An external-content FTS5 table: it stores only the index, the text stays in submissions.
    # remove_diacritics makes "apagon" find "apagón".
    statements = [
        "CREATE VIRTUAL TABLE IF NOT EXISTS submissions_fts USING fts5(body, "
        "content='submissions', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
        "DROP TRIGGER IF EXISTS submissions_fts_insert",
        "DROP TRIGGER IF EXISTS submissions_fts_delete",
        "DROP TRIGGER IF EXISTS submissions_fts_update",
        "CREATE TRIGGER submissions_fts_insert AFTER INSERT ON submissions BEGIN "
        "INSERT INTO submissions_fts(rowid, body) VALUES (new.id, new.body); END",
        "CREATE TRIGGER submissions_fts_delete AFTER DELETE ON submissions BEGIN "
        "INSERT INTO submissions_fts(submissions_fts, rowid, body) "
        "VALUES ('delete', old.id, old.body); "
        "END",
        "CREATE TRIGGER submissions_fts_update AFTER UPDATE OF body ON submissions BEGIN "
        "INSERT INTO submissions_fts(submissions_fts, rowid, body) "
        "VALUES ('delete', old.id, old.body); "
        "INSERT INTO submissions_fts(rowid, body) VALUES (new.id, new.body); END",
        "INSERT INTO submissions_fts(submissions_fts) VALUES ('rebuild')",
    ]
    for statement in statements:
        connection.execute(text(statement))


def tune_statistics(connection: Connection) -> None:
    """Have PostgreSQL's ANALYZE sample the search column finely enough (STATISTICS_TARGET)."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text(
                f"ALTER TABLE submissions ALTER COLUMN body_tsv "
                f"SET STATISTICS {STATISTICS_TARGET:d}"
            )
        )


def uninstall(connection: Connection) -> None:
    """Drop the search index (the migration's downgrade)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("DROP INDEX IF EXISTS ix_submissions_body_fts"))
        connection.execute(text("ALTER TABLE submissions DROP COLUMN IF EXISTS body_tsv"))
        return
    for suffix in ("insert", "delete", "update"):
        connection.execute(text(f"DROP TRIGGER IF EXISTS submissions_fts_{suffix}"))
    connection.execute(text("DROP TABLE IF EXISTS submissions_fts"))


def excluded_from_schema_comparison(name: str | None) -> bool:
    """Whether a table or index is the search index's (see FTS_TABLE)."""
    return bool(name) and (str(name).startswith(FTS_TABLE) or name in (FTS_INDEX, FTS_COLUMN))
