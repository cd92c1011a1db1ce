"""Field types and base classes every schema builds on."""

import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    StringConstraints,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.core.messages import KINDS, NO_NUL, UNICODE, kind_of
from app.core.numbers import INT_MAX
from app.schemas.examples import unwrap

T = TypeVar("T")


def no_nul(value: str) -> str:
    """Refuse text no database column stores: NUL bytes, lone surrogates."""
    if "\x00" in value:
        raise ValueError(NO_NUL)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (`"\ud800"` in JSON): no database stores it
        raise ValueError(UNICODE) from None
    return value


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in year 10000 in UTC
        raise ValueError(f"{KINDS[datetime]}, within years 1 to 9999 in UTC") from None


def _trimmed(min_length: int) -> Callable[[str], str]:
    def trim(value: str) -> str:
        value = value.strip()
        if len(value) < min_length:  # blank, once trimmed: "required" in words
            raise PydanticCustomError(
                "string_too_short",
                "String should have at least {min_length} characters",
                {"min_length": min_length},
            )
        return value

    return trim


def Text(max_length: int | None = None, min_length: int = 0) -> Any:
    """A string without NUL bytes, trimmed, within the column's length.

    The lengths hold for the text as sent, as the OpenAPI document says (`maxLength`), and
    the shortest also once trimmed: a name of spaces is no name.
    """
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(_trimmed(min_length)),
        AfterValidator(no_nul),
    ]


NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _not_a_number(kind: type) -> Callable[[Any], Any]:
    """Refuse a number where a date or time is expected (`0` is not 1970-01-01), written
    as one or as text (`"0.5"`, which pydantic would read as seconds since 1970)."""

    def check(value: Any) -> Any:
        numeric = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
        if numeric or (isinstance(value, str) and NUMBER.fullmatch(value)):
            raise ValueError(f"{KINDS[kind]}, not a number")
        return value

    return check


def _not_a_bool(value: Any) -> Any:
    """Refuse true and false where a number is expected (Python counts them as 1 and 0)."""
    if isinstance(value, bool):
        raise ValueError(f"{KINDS[int]}, not true or false")
    return value


Id = Annotated[int, BeforeValidator(_not_a_bool), Field(ge=1, le=INT_MAX)]
# true or false only: `0`, `1`, `"yes"` are refused rather than guessed at.
Bool = Annotated[bool, Strict()]
Date = Annotated[date, BeforeValidator(_not_a_number(date))]
# Input timestamps: a naive value is taken as UTC, an aware one converted to it.
UTCTimestamp = Annotated[
    datetime, BeforeValidator(_not_a_number(datetime)), AfterValidator(_as_utc)
]
# ISO 8601 with an explicit offset (`+00:00`), as the contract promises.
Timestamp = Annotated[datetime, PlainSerializer(lambda value: value.isoformat(), when_used="json")]
Name = Text(200, min_length=1)


@dataclass(frozen=True)
class Rule:
    """A rule over several fields, checked on the record as a write would leave it.

    Create and update are both checked on the whole record (what is stored, with what the
    write changes), by the one write path the API and the pages share; an error is
    reported at each of `fields`.
    """

    fields: tuple[str, ...]
    message: str
    holds: Callable[[Mapping[str, Any]], bool]


class InputSchema(BaseModel):
    """Request bodies: unknown fields are refused, so nothing is mass-assigned by accident;
    true and false are refused for every field that is not a boolean."""

    model_config = ConfigDict(extra="forbid")
    rules: ClassVar[tuple[Rule, ...]] = ()

    @field_validator("*", mode="before")
    @classmethod
    def _booleans_only_for_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name not in _boolean_fields(cls):
            assert info.field_name is not None
            annotation, _, _ = unwrap(cls.model_fields[info.field_name].annotation)
            choices = typing.get_origin(annotation) is typing.Literal  # "one of: ..." says it
            raise ValueError(kind_of(annotation) + ("" if choices else ", not true or false"))
        return value


def _boolean_fields(schema: type[BaseModel]) -> frozenset[str]:
    """The fields of `schema` that take a boolean (alone or beside None)."""
    return frozenset(
        name
        for name, info in schema.model_fields.items()
        if info.annotation is bool or bool in typing.get_args(info.annotation)
    )


class OwnerFields(InputSchema):
    """Owner fields a caller may set; where they may point is decided by the enforcer."""

    owner_user_id: Id | None = None
    owner_group_id: Id | None = None


class ReadSchema(BaseModel):
    """Responses, read from ORM objects."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    owner_user_id: int | None
    owner_group_id: int | None
    created_at: Timestamp
    updated_at: Timestamp


class Page(BaseModel, Generic[T]):
    """The list envelope."""

    items: list[T]
    total: int = Field(
        description="How many records match: exact when `total_exact`, else a lower bound "
        "(counting stops 1,000 rows past `offset`)."
    )
    limit: int
    offset: int
    total_exact: bool = Field(description="Whether `total` is the exact count.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the page after this one (keyset pagination: "
        "stable and as fast at any depth); null on the last page."
    )


def partial(schema: type[BaseModel], name: str, **extra: Any) -> type[BaseModel]:
    """Return `schema` with every field optional: what a partial update (PUT) accepts.

    Fields keep their types, so an explicit null for a required column is still refused;
    fields left out are simply not set (read with `exclude_unset`). `extra`: fields only
    an update takes, as `create_model` takes them.
    """
    fields: dict[str, Any] = {
        field_name: (info.rebuild_annotation(), Field(default=None, **_constraints(info)))
        for field_name, info in schema.model_fields.items()
    }
    return create_model(name, __base__=InputSchema, **fields, **extra)


def _constraints(info: Any) -> dict[str, Any]:
    return {"description": info.description} if info.description else {}
