"""desk speed: finer search statistics, sender indexes that count alone

A search for a word no comment has took half a second on a million comments: the planner
guessed the word common and walked the queue in order (core.search.STATISTICS_TARGET). A
comment's page counted a prolific sender's record from thousands of table rows: the sender
indexes now carry kind, status and id on PostgreSQL (core.models.SENDER_RECORD_COLUMNS).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 02:40:00
"""

from __future__ import annotations

from alembic import op

from core import search

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# As core.models.SENDER_RECORD_COLUMNS was when this was written.
SENDER_RECORD_COLUMNS = ["kind", "status", "id"]
SENDER_INDEXES = {"ix_submissions_email_hash": "email_hash", "ix_submissions_ip_hash": "ip_hash"}


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        # SQLite has no INCLUDE and no statistics target: nothing changes there.
        return
    for name, column in SENDER_INDEXES.items():
        op.drop_index(name, table_name="submissions")
        op.create_index(
            name,
            "submissions",
            [column, "created_at"],
            postgresql_include=SENDER_RECORD_COLUMNS,
        )
    search.tune_statistics(connection)
    # The new target applies from the next ANALYZE; run it now rather than wait for autovacuum.
    op.execute("ANALYZE submissions")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE submissions ALTER COLUMN body_tsv SET STATISTICS -1")
    for name, column in SENDER_INDEXES.items():
        op.drop_index(name, table_name="submissions")
        op.create_index(name, "submissions", [column, "created_at"])
