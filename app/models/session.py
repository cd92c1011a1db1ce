"""Login sessions stored in the database."""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.database import Base, UTCDateTime
from app.models.base import OwnedMixin, TimestampMixin

if TYPE_CHECKING:
    from app.models.user import User


class LoginSession(OwnedMixin, TimestampMixin, Base):
    """Server-side logins: the cookie holds a random token, the row its keyed hash."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(500))

    user: Mapped["User"] = relationship(
        back_populates="sessions", foreign_keys=[user_id], lazy="raise_on_sql"
    )
