"""The errors the services refuse a request with, in one shape for every interface: what
is not found, forbidden or in conflict, a write's fields (invalid, or a unique clash), a
throttled sign-in.

The JSON API answers them as JSON (`app/api/errors.py`), the pages at their fields or as
an error page (`app/routers/errors.py`); the words are in `app/core/messages.py`.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from app.core.messages import choose


@dataclass(frozen=True)
class FieldError:
    """One reason a write was refused, at the field it concerns."""

    field: str
    message: str
    type: str  # reference_error, rule, unique, value_error, ...


class WriteError(Exception):
    """A write refused for what its fields hold: 422 (invalid) or 409 (a unique clash).

    The API answers it as JSON (`detail` lists `{loc, msg, type}`, or names the clashing
    fields for a 409); the HTML forms show each message at its field.
    """

    def __init__(self, errors: Sequence[FieldError], status_code: int = 422) -> None:
        self.errors = list(errors)
        self.status_code = status_code
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))

    @property
    def fields(self) -> list[str]:
        return list(dict.fromkeys(error.field for error in self.errors))


class Throttled(Exception):
    """A sign-in refused before its password was checked: too many recent failures."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed sign-ins: try again in {retry_after} s")


def clash(fields: Sequence[str]) -> WriteError:
    """Return the 409 for values another row already holds under a unique key."""
    names = ", ".join(fields) or "value"
    return WriteError([FieldError(f, f"{names} already exists", "unique") for f in fields], 409)


def invalid_reference(field: str, missing: Sequence[int]) -> WriteError:
    """Return the 422 for ids that name no record the caller may see."""
    message = f"{choose(field)} you can see (not {', '.join(map(str, missing))})"
    return WriteError([FieldError(field, message, "reference_error")])


class Refused(Exception):
    """A request the service refuses as a whole, with a sentence saying why."""

    default = "Refused"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default
        super().__init__(self.detail)


class NotFound(Refused):
    """No such record (or one the caller may not read, where that is answered alike)."""

    def __init__(self, what: str = "Record") -> None:
        super().__init__(f"{what} not found")


class Forbidden(Refused):
    """The caller may not do this; `explain` names the decision, when it was on one record
    (resource path, action, record id), for a page to link to its explanation."""

    default = "Insufficient permissions"

    def __init__(self, detail: str | None = None, explain: tuple[str, str, int] | None = None):
        super().__init__(detail)
        self.explain = explain


class Conflict(Refused):
    """The change would leave the data in a state it must not reach."""
