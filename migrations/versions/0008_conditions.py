"""Conditions: named rules over a model's records that a permission may carry
(`task:update:own[open]`), and the permission's `condition_id`, unique with it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.helpers import create_owned_table, keeping

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNIQUE = "uq_permissions_model_action_scope_condition_id"


def upgrade() -> None:
    create_owned_table(
        "conditions",
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("model", sa.String(50), nullable=False),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.UniqueConstraint("model", "name", name="uq_conditions_model_name"),
    )
    # SQLite recreates the table (its unique constraint cannot be dropped otherwise).
    with keeping("role_permissions"), op.batch_alter_table("permissions") as batch:
        batch.drop_constraint("uq_permissions_model_action_scope", type_="unique")
        batch.add_column(sa.Column("condition_id", sa.Integer()))
        batch.create_foreign_key(
            "permissions_condition_id_fkey",
            "conditions",
            ["condition_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    op.create_index("ix_permissions_condition_id", "permissions", ["condition_id"])
    # COALESCE: two permissions without a condition are equal (NULLs are distinct).
    op.create_index(
        UNIQUE,
        "permissions",
        ["model", "action", "scope", sa.func.coalesce(sa.column("condition_id"), 0)],
        unique=True,
    )


def downgrade() -> None:
    # A permission without its condition would allow more than it did: it goes.
    op.execute("DELETE FROM permissions WHERE condition_id IS NOT NULL")
    op.drop_index(UNIQUE, table_name="permissions")
    op.drop_index("ix_permissions_condition_id", table_name="permissions")
    with keeping("role_permissions"), op.batch_alter_table("permissions") as batch:
        batch.drop_constraint("permissions_condition_id_fkey", type_="foreignkey")
        batch.drop_column("condition_id")
        batch.create_unique_constraint(
            "uq_permissions_model_action_scope", ["model", "action", "scope"]
        )
    op.drop_table("conditions")
