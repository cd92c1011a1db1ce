"""The audit log: one row per event, written in the transaction of the change it records."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base, UTCDateTime


class AuditEntry(Base):
    """Who did what to which record, when, from where; never updated or deleted by the app
    (only `policy audit-prune` and its older form `audit prune` remove entries older than a
    date)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_record", "resource", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(index=True)  # no key: outlives the user
    actor_name: Mapped[str | None] = mapped_column(String(320))
    address: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(40), index=True)
    resource: Mapped[str | None] = mapped_column(String(50))
    record_id: Mapped[int | None]
    # {field: [before, after]} of the fields that changed; secrets as "changed".
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
