"""Indexes for the app's own list queries: the sort columns the lists offer and, on
PostgreSQL, trigram indexes for `q=` search. business.sql has neither; these are the only
additions to it (docs/schema.md lists them).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> the sort columns no index of business.sql serves in list order; each gets an
# index on (column, id), `id` being the tiebreaker of every sorted list.
SORT_INDEXES: dict[str, tuple[str, ...]] = {
    "customers": ("created_at", "updated_at", "email", "company", "is_active"),
    "projects": (
        "created_at",
        "updated_at",
        "name",
        "status",
        "budget",
        "start_date",
        "due_date",
    ),
    # status has business.sql's own index, but four values: the order needs (status, id).
    "tasks": ("created_at", "updated_at", "title", "status", "priority", "due_at"),
    "tags": ("created_at", "updated_at", "color"),
    "comments": ("created_at", "updated_at"),
    "time_entries": ("created_at", "updated_at", "minutes"),
}

# table -> the columns `q=` searches: one multicolumn GIN trigram index (PostgreSQL).
SEARCH_INDEXES: dict[str, tuple[str, ...]] = {
    "customers": ("name", "email", "phone", "company", "notes"),
    "projects": ("name", "description"),
    "tasks": ("title", "description"),
    "tags": ("name",),
    "comments": ("body",),
    "time_entries": ("note",),
}


def upgrade() -> None:
    for table, columns in SORT_INDEXES.items():
        for column in columns:
            op.create_index(f"ix_{table}_{column}_id", table, [column, "id"])
    if op.get_context().dialect.name != "postgresql":
        return
    # pg_trgm is a trusted extension: the database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, columns in SEARCH_INDEXES.items():
        op.create_index(
            f"ix_{table}_search",
            table,
            list(columns),
            postgresql_using="gin",
            postgresql_ops=dict.fromkeys(columns, "gin_trgm_ops"),
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in SEARCH_INDEXES:
            op.drop_index(f"ix_{table}_search", table_name=table)
    for table, columns in SORT_INDEXES.items():
        for column in columns:
            op.drop_index(f"ix_{table}_{column}_id", table_name=table)
