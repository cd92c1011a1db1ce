"""Casbin's stored rules and the revision every process watches."""

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base


class CasbinRule(Base):
    """Casbin's policy lines, written only by the policy sync, read by the enforcer."""

    __tablename__ = "casbin_rule"
    # A change syncs the lines of the subjects it touched: a role's grants and holders, a
    # user's roles and groups, a group's members, the holders of one permission.
    __table_args__ = (
        Index("ix_casbin_rule_v0", "ptype", "v0"),
        Index("ix_casbin_rule_v1", "ptype", "v1", "v2", "v3"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ptype: Mapped[str] = mapped_column(String(255))
    v0: Mapped[str | None] = mapped_column(String(255))
    v1: Mapped[str | None] = mapped_column(String(255))
    v2: Mapped[str | None] = mapped_column(String(255))
    v3: Mapped[str | None] = mapped_column(String(255))
    v4: Mapped[str | None] = mapped_column(String(255))
    v5: Mapped[str | None] = mapped_column(Text)  # a condition's expression is longer

    def __str__(self) -> str:
        """Render the line as the adapter hands it to Casbin: `p, r:1, task, read, own`."""
        values = (self.v0, self.v1, self.v2, self.v3, self.v4, self.v5)
        return ", ".join([self.ptype, *(v for v in values if v is not None)])


class PolicyState(Base):
    """One row whose revision moves with every policy sync: every process compares it
    per request and swaps in a fresh enforcer when it moved."""

    __tablename__ = "policy_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(default=0)


class PolicyChange(Base):
    """What each recent policy revision changed, for a process that missed its announcement
    to catch up by revision: `changes` holds the revision's lines as JSON
    (`[["+", "p", "r:1", "task", "read", "all"], ...]`), NULL when too many to describe (the
    process then reloads the whole policy). Only the newest revisions are kept."""

    __tablename__ = "policy_change"

    revision: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    changes: Mapped[str | None] = mapped_column(Text)
