"""How many submissions are in each status, kept by the database itself.

Counting a million rows on every page costs most of a second; the queues show counts on every
page and poll them every few seconds. So triggers on `submissions` append a row to
`status_tallies` for every insert, status change and delete (+1 for the status entered, -1 for
the one left), whoever makes it: the web apps, the worker, a script, a cascade. A count is the
sum of a kind's rows. Appending never waits for another transaction (an UPDATE of a shared
counter row would, and two decisions crossing between the same two statuses could deadlock),
and the sum is taken in one statement, so it is one consistent snapshot: never negative.
`compact` folds the rows into one per (kind, status), run by beat every minute.

`received` is not tallied: no tab shows it, and the public site's inserts stay cheap.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from core.enums import Kind, Status
from core.models import StatusTally

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION tipline_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.status IS NOT DISTINCT FROM NEW.status THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status <> 'received' THEN
    INSERT INTO status_tallies (kind, status, n) VALUES (OLD.kind, OLD.status, -1);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status <> 'received' THEN
    INSERT INTO status_tallies (kind, status, n) VALUES (NEW.kind, NEW.status, 1);
  END IF;
  RETURN NULL;
END $$
"""

_PG_TRIGGER = """
CREATE TRIGGER submissions_tally AFTER INSERT OR DELETE OR UPDATE OF status ON submissions
FOR EACH ROW EXECUTE FUNCTION tipline_tally()
"""

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER submissions_tally_insert AFTER INSERT ON submissions "
    "WHEN new.status <> 'received' BEGIN "
    "INSERT INTO status_tallies (kind, status, n) VALUES (new.kind, new.status, 1); END",
    "CREATE TRIGGER submissions_tally_delete AFTER DELETE ON submissions "
    "WHEN old.status <> 'received' BEGIN "
    "INSERT INTO status_tallies (kind, status, n) VALUES (old.kind, old.status, -1); END",
    "CREATE TRIGGER submissions_tally_leave AFTER UPDATE OF status ON submissions "
    "WHEN old.status <> new.status AND old.status <> 'received' BEGIN "
    "INSERT INTO status_tallies (kind, status, n) VALUES (old.kind, old.status, -1); END",
    "CREATE TRIGGER submissions_tally_enter AFTER UPDATE OF status ON submissions "
    "WHEN old.status <> new.status AND new.status <> 'received' BEGIN "
    "INSERT INTO status_tallies (kind, status, n) VALUES (new.kind, new.status, 1); END",
)
SQLITE_TRIGGER_NAMES = ("insert", "delete", "leave", "enter")


def install(connection: Connection) -> None:
    """Create the triggers and start the tallies from the rows there are (the migration's job).

    On SQLite, run it again after any migration that rebuilds the submissions table (batch
    mode): a rebuilt table loses its triggers.
    """
    uninstall(connection)
    if connection.dialect.name == "postgresql":
        connection.execute(text(_PG_FUNCTION))
        connection.execute(text(_PG_TRIGGER))
    else:
        for statement in _SQLITE_TRIGGERS:
            connection.execute(text(statement))
    connection.execute(text("DELETE FROM status_tallies"))
    connection.execute(
        text(
            "INSERT INTO status_tallies (kind, status, n) SELECT kind, status, count(*) "
            "FROM submissions WHERE status <> 'received' GROUP BY kind, status"
        )
    )


def uninstall(connection: Connection) -> None:
    """Drop the triggers."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("DROP TRIGGER IF EXISTS submissions_tally ON submissions"))
        connection.execute(text("DROP FUNCTION IF EXISTS tipline_tally()"))
        return
    for name in SQLITE_TRIGGER_NAMES:
        connection.execute(text(f"DROP TRIGGER IF EXISTS submissions_tally_{name}"))


def counts(session: Session, kind: Kind) -> dict[Status, int]:
    """How many submissions of `kind` are in each status (but `received`), as of one snapshot."""
    rows = session.execute(
        select(StatusTally.status, func.sum(StatusTally.n))
        .where(StatusTally.kind == kind.value)
        .group_by(StatusTally.status)
    ).all()
    # max(0, ...) only guards against a hand-edited table: the sums cannot go below zero.
    return {Status(status): max(0, int(total or 0)) for status, total in rows}


def compact(session: Session) -> int:
    """Fold the tallies into one row per (kind, status); how many rows it removed. Commits."""
    if session.get_bind().dialect.name == "postgresql":
        last = session.scalar(select(func.max(StatusTally.id)))
        if last is None:
            session.rollback()
            return 0
        # One statement: the rows deleted are exactly the rows summed, even if another
        # transaction commits a tally with a lower id meanwhile (it is left for next time).
        removed = session.execute(
            text(
                "WITH gone AS (DELETE FROM status_tallies WHERE id <= :last "
                "RETURNING kind, status, n), "
                "summed AS (INSERT INTO status_tallies (kind, status, n) "
                "SELECT kind, status, sum(n) FROM gone GROUP BY kind, status RETURNING 1) "
                "SELECT (SELECT count(*) FROM gone) - (SELECT count(*) FROM summed)"
            ),
            {"last": last},
        ).scalar_one()
    else:
        # SQLite has one writer at a time, and the first statement takes the write lock (a read
        # first could not be upgraded if another process wrote meanwhile): the sums get the
        # highest ids, everything below them is what was summed.
        summed = session.execute(
            text(
                "INSERT INTO status_tallies (kind, status, n) SELECT kind, status, sum(n) "
                "FROM status_tallies GROUP BY kind, status"
            )
        ).rowcount  # type: ignore[attr-defined]
        deleted = session.execute(
            text(
                "DELETE FROM status_tallies WHERE id <= "
                "(SELECT max(id) FROM status_tallies) - :summed"
            ),
            {"summed": summed},
        ).rowcount  # type: ignore[attr-defined]
        removed = deleted - summed
    session.commit()
    return int(removed)
