"""Security: usernames unique in any case, failed sign-ins counted for throttling, and the
moment before which a user's bearer tokens are refused.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "uq_users_username_lower", "users", [sa.func.lower(sa.column("username"))], unique=True
    )
    op.add_column("users", sa.Column("tokens_not_before", sa.DateTime(timezone=True)))
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_login_failures_blocked_until", "login_failures", ["blocked_until"])


def downgrade() -> None:
    op.drop_table("login_failures")
    op.drop_column("users", "tokens_not_before")
    op.drop_index("uq_users_username_lower", table_name="users")
