"""The policy's lines beside Casbin's: a condition's line holds its expression (up to 2,000
characters) in `v5`, which becomes text. (Role names and conditions join the policy at the
next `policy sync`, which `init_db` runs.)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("casbin_rule") as batch:
        batch.alter_column("v5", type_=sa.Text(), existing_type=sa.String(255))


def downgrade() -> None:
    op.execute("DELETE FROM casbin_rule WHERE ptype IN ('n', 'c')")
    with op.batch_alter_table("casbin_rule") as batch:
        batch.alter_column("v5", type_=sa.String(255), existing_type=sa.Text())
