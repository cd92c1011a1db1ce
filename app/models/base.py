"""Column mixins every model table shares."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, func
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import UTCDateTime, utcnow


class TimestampMixin:
    """`created_at` / `updated_at`, aware UTC, set by the app and defaulted by the database."""

    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class OwnedMixin:
    """Owner fields that `own` and `group` scopes are evaluated against."""

    owner_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    owner_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL"), index=True
    )


def choices(column: str, values: Sequence[str]) -> CheckConstraint:
    """Check that `column` holds one of `values`.

    The tuple is written once, beside the model: the schema's `Literal`, the form's options
    and the migration's check (`migrations/helpers.py: choices`) are made from it too.
    """
    return CheckConstraint(one_of(column, values), name=column)


def one_of(column: str, values: Sequence[str]) -> str:
    """Return the SQL condition `column IN ('a', 'b')`."""
    return f"{column} IN ({', '.join(repr(str(value)) for value in values)})"
