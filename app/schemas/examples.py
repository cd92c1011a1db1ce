"""Example bodies derived from the input schemas: the docs' curl examples and the tests use them.

`example_body` fills the required fields of a create schema with values the schema accepts
(references aside: the caller names the records they point at). When a field's type says
too little to make a value (a pattern no plain name matches, say), it raises
`NoExample` naming the field, so the gap is found at once rather than as a failed request.
"""

import re
import types
import typing
from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, EmailStr, ValidationError
from pydantic.fields import FieldInfo


class NoExample(ValueError):
    """No example value can be derived for a field: say which, and why."""


def unwrap(annotation: Any) -> tuple[Any, bool, list[Any]]:
    """Return the bare type (no `| None`, no `Annotated`), whether None was allowed, and
    the metadata `Annotated` carried."""
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation, optional = (args[0] if len(args) == 1 else annotation), True
    metadata: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        annotation, *more = typing.get_args(annotation)
        metadata += more
    return annotation, optional, metadata


def constraint(info: FieldInfo, name: str, metadata: list[Any]) -> Any:
    """Return a constraint (`max_length`, `ge`, `pattern`...) the field declares, if any.

    Where it is declared more than once (a type's and a field's own), the tightest wins.
    """
    values = [getattr(meta, name) for meta in [*info.metadata, *metadata] if hasattr(meta, name)]
    values = [value for value in values if value is not None]
    if not values:
        return None
    if name in ("min_length", "ge", "gt"):
        return max(values)
    if name in ("max_length", "le", "lt"):
        return min(values)
    return values[0]


def example_value(schema: type[BaseModel], name: str, text: str) -> Any:
    """Return a value `schema` accepts for field `name`; `text` is used for strings."""
    info = schema.model_fields[name]
    annotation, _, metadata = unwrap(info.annotation)
    where = f"{schema.__name__}.{name}"
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)[0]
    if annotation is bool:
        return True
    if annotation in (int, Decimal):
        low = constraint(info, "ge", metadata)
        above = constraint(info, "gt", metadata)
        value = low if low is not None else (above + 1 if above is not None else 1)
        return value if annotation is int else str(Decimal(value).quantize(Decimal("0.01")))
    if annotation is date:
        return "2024-05-06"
    if annotation is datetime:
        return "2024-05-06T10:00:00Z"
    if annotation is EmailStr:
        return f"{text}@example.com"
    if typing.get_origin(annotation) is list:
        return []
    if annotation is str:
        low = constraint(info, "min_length", metadata) or 0
        high = constraint(info, "max_length", metadata)
        value = text.ljust(low, "x")[: high or None]
        pattern = constraint(info, "pattern", metadata)
        if not pattern and info.examples and isinstance(info.examples[0], str):
            return info.examples[0]  # what only its example shows (a condition's expression)
        if pattern and not re.search(pattern, value):
            declared = [*(info.examples or ()), *examples_of(metadata), info.default]
            matching = [v for v in declared if isinstance(v, str) and re.search(pattern, v)]
            if not matching:
                raise NoExample(
                    f"{where}: no plain value matches its pattern {pattern!r}: give the field "
                    "an example that does (`pattern(regex, words, example=...)`)"
                )
            return matching[0]
        return value
    raise NoExample(f"{where}: cannot make an example of type {annotation!r}")


def examples_of(metadata: list[Any]) -> list[Any]:
    """The examples an `Annotated` type's own fields declare (`pattern(..., example=...)`)."""
    return [value for meta in metadata for value in (getattr(meta, "examples", None) or ())]


def example_body(
    schema: type[BaseModel],
    *,
    text: str = "example",
    given: dict[str, Any] | None = None,
    stand_ins: Collection[str] = (),
) -> dict[str, Any]:
    """Return the required fields of `schema` with example values (`given` ones as given).

    Fields in `stand_ins` hold a placeholder for an id (`$PROJECTS_ID` in a shell example)
    and are validated as the id 1.
    """
    body = dict(given or {})
    for name, info in schema.model_fields.items():
        if info.is_required() and name not in body:
            body[name] = example_value(schema, name, text)
    try:
        schema.model_validate(body | dict.fromkeys(stand_ins, 1))
    except ValidationError as exc:
        raise NoExample(f"{schema.__name__}: the derived example is refused: {exc}") from None
    return body
