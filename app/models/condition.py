"""Conditions: named rules over a record's attributes that a permission may carry
(`task:update:own[open]`), written in the language of `app/core/conditions/`."""

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base
from app.models.base import OwnedMixin, TimestampMixin

# A condition's name goes between brackets in a permission's name: a word, as a model's is.
CONDITION_NAME = (
    r"^[a-z][a-z0-9_]*$",
    "lowercase letters, digits and underscores, starting with a letter",
    "open",
)
EXPRESSION_LENGTH = 2000  # the most characters an expression may have


class Condition(OwnedMixin, TimestampMixin, Base):
    """A named rule over the records of one permission model, unique per model."""

    __tablename__ = "conditions"
    __table_args__ = (UniqueConstraint("model", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), info={"pattern": CONDITION_NAME})
    # The permission model whose records the expression reads.
    model: Mapped[str] = mapped_column(String(50), info={"example": "task"})
    expression: Mapped[str] = mapped_column(
        Text, info={"max_length": EXPRESSION_LENGTH, "example": 'record.status != "done"'}
    )
    description: Mapped[str | None] = mapped_column(Text)
