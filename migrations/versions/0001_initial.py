"""Auth tables, Casbin policy storage and the business schema of business.sql.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.helpers import choices, owner_and_timestamps, owner_indexes

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The choices as they were when this revision was written: a migration never imports the
# app, so its history stays what it was whatever the models become.
PROJECT_STATUSES = ("planned", "active", "on_hold", "completed", "cancelled")
TASK_STATUSES = ("todo", "in_progress", "blocked", "done")
ACTIONS = ("create", "read", "update", "delete")
SCOPES = ("all", "own", "group")

BUSINESS_OWNED = ("customers", "projects", "tasks", "tags", "comments", "time_entries")
AUTH_OWNED = ("users", "roles", "permissions", "groups", "sessions")


def upgrade() -> None:
    # users and groups point at each other through the owner columns, so the two
    # foreign keys that close the cycle are added once both tables exist.
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(50), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("full_name", sa.String(200)),
        sa.Column("hashed_password", sa.String(255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("last_login_at", sa.DateTime(timezone=True)),
        sa.Column("owner_user_id", sa.Integer()),
        sa.Column("owner_group_id", sa.Integer()),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text()),
        *owner_and_timestamps(),
        sa.UniqueConstraint("name", name="uq_groups_name"),
    )
    with op.batch_alter_table("users") as batch:
        batch.create_foreign_key(
            "users_owner_user_id_fkey", "users", ["owner_user_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_foreign_key(
            "users_owner_group_id_fkey", "groups", ["owner_group_id"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "roles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("description", sa.Text()),
        *owner_and_timestamps(),
        sa.UniqueConstraint("name", name="uq_roles_name"),
    )
    op.create_table(
        "permissions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model", sa.String(50), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("description", sa.Text()),
        *owner_and_timestamps(),
        sa.UniqueConstraint("model", "action", "scope", name="uq_permissions_model_action_scope"),
        # op.f() marks a check name as final: the `ck` naming convention of the target
        # metadata would otherwise prefix it again (`ck_permissions_ck_permissions_action`).
        choices("permissions", "action", ACTIONS),
        choices("permissions", "scope", SCOPES),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip_address", sa.String(45)),
        sa.Column("user_agent", sa.String(500)),
        *owner_and_timestamps(),
        sa.UniqueConstraint("token_hash", name="uq_sessions_token_hash"),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    for table in AUTH_OWNED:
        owner_indexes(table)

    op.create_table(
        "user_roles",
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "role_id", sa.Integer(), sa.ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
        ),
    )
    op.create_index("ix_user_roles_role_id", "user_roles", ["role_id"])
    op.create_table(
        "role_permissions",
        sa.Column(
            "role_id", sa.Integer(), sa.ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "permission_id",
            sa.Integer(),
            sa.ForeignKey("permissions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_role_permissions_permission_id", "role_permissions", ["permission_id"])
    op.create_table(
        "user_groups",
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "group_id",
            sa.Integer(),
            sa.ForeignKey("groups.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_user_groups_group_id", "user_groups", ["group_id"])

    op.create_table(
        "casbin_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ptype", sa.String(255), nullable=False),
        *(sa.Column(f"v{i}", sa.String(255)) for i in range(6)),
    )
    op.create_table(
        "policy_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("revision", sa.Integer(), nullable=False),
    )

    # Business schema, as in migrations/reference/business.sql.
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(50)),
        sa.Column("company", sa.String(200)),
        sa.Column("notes", sa.Text()),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
        *owner_and_timestamps(),
    )
    owner_indexes("customers")
    op.create_index("ix_customers_name", "customers", ["name"])

    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id", ondelete="SET NULL")),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("status", sa.String(20), nullable=False, server_default=sa.text("'planned'")),
        sa.Column("budget", sa.Numeric(12, 2)),
        sa.Column("is_billable", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("start_date", sa.Date()),
        sa.Column("due_date", sa.Date()),
        *owner_and_timestamps(),
        choices("projects", "status", PROJECT_STATUSES),
        sa.CheckConstraint("budget >= 0", name=op.f("ck_projects_budget_non_negative")),
        sa.CheckConstraint("due_date >= start_date", name=op.f("ck_projects_dates")),
    )
    op.create_index("ix_projects_customer_id", "projects", ["customer_id"])
    owner_indexes("projects")

    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("status", sa.String(20), nullable=False, server_default=sa.text("'todo'")),
        sa.Column("priority", sa.SmallInteger(), nullable=False, server_default=sa.text("3")),
        sa.Column("assignee_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("due_at", sa.DateTime(timezone=True)),
        sa.Column("estimate_hours", sa.Numeric(6, 2)),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        *owner_and_timestamps(),
        choices("tasks", "status", TASK_STATUSES),
        sa.CheckConstraint("priority BETWEEN 1 AND 5", name=op.f("ck_tasks_priority")),
        sa.CheckConstraint("estimate_hours >= 0", name=op.f("ck_tasks_estimate_non_negative")),
    )
    op.create_index("ix_tasks_project_id", "tasks", ["project_id"])
    op.create_index("ix_tasks_assignee_id", "tasks", ["assignee_id"])
    op.create_index("ix_tasks_status", "tasks", ["status"])
    owner_indexes("tasks")

    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("color", sa.String(7), nullable=False, server_default=sa.text("'#6b7280'")),
        *owner_and_timestamps(),
        sa.UniqueConstraint("name", name="uq_tags_name"),
    )
    owner_indexes("tags")

    op.create_table(
        "task_tags",
        sa.Column(
            "task_id", sa.Integer(), sa.ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "tag_id", sa.Integer(), sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True
        ),
    )
    op.create_index("ix_task_tags_tag_id", "task_tags", ["tag_id"])

    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "task_id",
            sa.Integer(),
            sa.ForeignKey("tasks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        *owner_and_timestamps(),
    )
    op.create_index("ix_comments_task_id", "comments", ["task_id"])
    owner_indexes("comments")

    op.create_table(
        "time_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "task_id",
            sa.Integer(),
            sa.ForeignKey("tasks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("spent_on", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(500)),
        sa.Column("is_billable", sa.Boolean(), nullable=False, server_default=sa.true()),
        *owner_and_timestamps(),
        sa.CheckConstraint("minutes > 0 AND minutes <= 1440", name=op.f("ck_time_entries_minutes")),
    )
    op.create_index("ix_time_entries_task_id", "time_entries", ["task_id"])
    op.create_index("ix_time_entries_user_id", "time_entries", ["user_id"])
    op.create_index("ix_time_entries_spent_on", "time_entries", ["spent_on"])
    owner_indexes("time_entries")


def downgrade() -> None:
    for table in (
        "time_entries",
        "comments",
        "task_tags",
        "tags",
        "tasks",
        "projects",
        "customers",
        "policy_state",
        "casbin_rule",
        "user_groups",
        "role_permissions",
        "user_roles",
        "sessions",
        "permissions",
        "roles",
    ):
        op.drop_table(table)
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("users_owner_group_id_fkey", type_="foreignkey")
    op.drop_table("groups")
    op.drop_table("users")
