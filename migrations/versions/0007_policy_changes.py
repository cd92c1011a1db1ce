"""The policy at organisation size: indexes for syncing one subject's Casbin lines, and
the recent revisions' changes a process catches up by.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_casbin_rule_v0", "casbin_rule", ["ptype", "v0"])
    op.create_index("ix_casbin_rule_v1", "casbin_rule", ["ptype", "v1", "v2", "v3"])
    op.create_table(
        "policy_change",
        sa.Column("revision", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("changes", sa.Text()),
    )


def downgrade() -> None:
    op.drop_table("policy_change")
    op.drop_index("ix_casbin_rule_v1", "casbin_rule")
    op.drop_index("ix_casbin_rule_v0", "casbin_rule")
