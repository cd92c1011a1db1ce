"""Failed sign-ins, counted in the database so that every worker and instance agrees."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base, UTCDateTime


class LoginFailure(Base):
    """Recent failed sign-ins under one key: an account at an address, an account, or an
    address (`app/crud/throttle.py`). A row goes when a sign-in succeeds (the account's
    keys) or, counted afresh, once its failures are old."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int]
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
