"""HTML forms built from the resource schemas: fields, choices, parsing and messages."""

import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, EmailStr, ValidationError
from starlette.datastructures import FormData

from app.core.errors import WriteError
from app.core.messages import KINDS, NO_NUL, UNICODE, choose, error_message
from app.core.zones import DEFAULT_ZONE, in_utc, local, skipped, zone_names
from app.resources import REGISTRY, Resource
from app.schemas.examples import constraint, unwrap
from app.services.access import Access
from app.services.naming import target_of

LONG_TEXT = 500
Choice = tuple[str, str]
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass
class FormField:
    """One input of a resource form."""

    name: str
    label: str
    widget: str  # text textarea email password number checkbox date datetime select multiselect
    required: bool
    max_length: int | None = None
    step: str | None = None
    choices: list[Choice] = field(default_factory=list)
    blank: str = "—"  # the choice of no value, in a select that may be left empty


def literal_choices(annotation: Any) -> list[Choice]:
    """Return the options for a `Literal[...]` type: each value, labelled without underscores."""
    return [(str(v), str(v).replace("_", " ")) for v in typing.get_args(annotation)]


def form_fields(res: Resource, schema: type[BaseModel]) -> list[FormField]:
    """Describe the inputs for `schema`; choices are filled in by `with_choices`."""
    fields = []
    for name, info in schema.model_fields.items():
        annotation, optional, metadata = unwrap(info.annotation)
        widget = "text"
        choices: list[Choice] = []
        step = None
        max_length = constraint(info, "max_length", metadata)
        blank = "—"
        if name == "password":
            widget = "password"
        elif name == "time_zone":
            widget = "select"
            choices = [(zone, zone.replace("_", " ")) for zone in zone_names()]
            blank = "Your browser's time zone"
        elif name.endswith("_ids") or name in res.references or name.startswith("owner_"):
            widget = "multiselect" if name.endswith("_ids") else "select"
        elif typing.get_origin(annotation) is Literal:
            widget = "select"
            choices = literal_choices(annotation)
        elif annotation is bool:
            widget = "checkbox"
        elif annotation in (int, Decimal):
            widget = "number"
            step = "1" if annotation is int else "0.01"
        elif annotation is datetime:
            widget = "datetime"
        elif annotation is date:
            widget = "date"
        elif annotation is EmailStr or name == "email":
            widget = "email"
        elif max_length is None or max_length > LONG_TEXT:
            widget = "textarea"
        label = name.removesuffix("_ids").removesuffix("_id").replace("_", " ").capitalize()
        required = info.is_required() and not optional and widget not in ("checkbox",)
        fields.append(FormField(name, label, widget, required, max_length, step, choices, blank))
    return fields


PICKER_CHOICES = 1000  # the most records a form's picker offers


async def with_choices(
    fields: list[FormField], res: Resource, access: Access, session: Any
) -> list[FormField]:
    """Fill select choices with the records the caller may read, and nothing else: every
    table the pickers name in one statement, each once (a task's assignee and owner are
    both users)."""
    wanted: dict[str, str] = {}  # field -> the path of the table it picks from
    for item in fields:
        if item.widget in ("select", "multiselect") and not item.choices:
            path = target_of(res, item.name)
            if path is not None:
                wanted[item.name] = path
    readable = await access.choices(
        (REGISTRY[path] for path in wanted.values()), session, PICKER_CHOICES
    )
    for item in fields:
        if item.name not in wanted:
            continue
        target = REGISTRY[wanted[item.name]]
        titles = dict(readable[target.path])
        if item.name == "owner_group_id":
            # The caller's own groups, even without group:read.
            mine = sorted(set(access.policy.group_ids(access.user.id)) - titles.keys())
            if mine:
                rows = await target.crud.get_many(session=session, ids=mine, field=item.name)
                titles |= {row.id: target.title_of(row) for row in rows}
        item.choices = [(str(id), title) for id, title in titles.items()]
    return fields


class SkippedTime(str):
    """A typed time its zone never shows (the clocks skip it), kept as typed for the form."""

    def __new__(cls, value: str, zone: str) -> "SkippedTime":
        made = super().__new__(cls, value)
        made.zone = zone
        return made

    zone: str

    @property
    def message(self) -> str:
        day, _, clock = self.partition("T")
        return f"there is no {clock[:5]} on {day} in {self.zone}: the clocks skip it"


def form_value(value: Any, widget: str, zone: str = DEFAULT_ZONE) -> str:
    """Return a value as an input's `value` attribute wants it (a time in `zone`)."""
    if value is None:
        return ""
    if widget == "datetime" and isinstance(value, str):  # as submitted, shown again
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is None:  # as typed (a time the clocks skip)
            return value
        value = moment
    if isinstance(value, datetime):
        if widget != "datetime":
            return value.isoformat()
        # datetime-local: the viewer's wall clock, no offset (`parse_form` reads it back in
        # the same zone), and no precision lost to a resubmit.
        value = local(value, zone)
        spec = "milliseconds" if value.microsecond else "seconds" if value.second else "minutes"
        return value.replace(tzinfo=None).isoformat(timespec=spec)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def parse_form(
    fields: list[FormField],
    form: FormData,
    *,
    partial: bool,
    zone: str = DEFAULT_ZONE,
    record: Any | None = None,
) -> dict[str, Any]:
    """Turn submitted form data into the dict the schema validates.

    Empty inputs become None, refused as "required" where a value is (a blank password of
    an edit is left out: the password stays); multi-selects come from `getlist`; an
    unchecked checkbox is False; a time without an offset is the viewer's wall clock, and
    an edit's time sent back as the form showed it is the `record`'s own moment (a wall
    clock the clocks repeat names two).
    """
    data: dict[str, Any] = {}
    for item in fields:
        if item.widget == "multiselect":
            data[item.name] = [v for v in form.getlist(item.name) if isinstance(v, str)]
            continue
        if item.widget == "checkbox":
            data[item.name] = form.get(item.name) is not None
            continue
        raw = form.get(item.name)
        value = raw.strip() if isinstance(raw, str) else None
        if item.widget == "password":
            if value:
                data[item.name] = raw
            elif not partial:
                data[item.name] = None
            continue
        if value and item.widget == "datetime":
            before = getattr(record, item.name, None) if record is not None else None
            if before is not None and value == form_value(before, "datetime", zone):
                value = before.isoformat()
            elif skipped(value, zone):
                value = SkippedTime(value, zone)
            else:
                value = in_utc(value, zone)
        data[item.name] = value or None
    return data


def validate(schema: type[ModelT], data: dict[str, Any]) -> tuple[ModelT | None, dict[str, str]]:
    """Validate form data; return the model, or the messages by field, in the API's words.

    An empty input is no value: "required" where the schema wants one. A time the clocks
    skip is refused at its field, the other fields checked all the same.
    """
    skips = {name: value for name, value in data.items() if isinstance(value, SkippedTime)}
    given = {k: None if v == "" else v for k, v in data.items() if k not in skips}
    errors: dict[str, str] = {name: value.message for name, value in skips.items()}
    try:
        model = schema.model_validate(given)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "__all__"
            in_body = error | {"loc": ("body", *error["loc"])}  # where a form's fields are
            errors.setdefault(field, error_message(in_body))
        return None, errors
    return (None, errors) if errors else (model, errors)


_KIND_WORDS = tuple(KINDS.values())
_RULE_WORDS = ("at least ", "at most ", "more than ", "less than ", "one of: ")
UNIQUE = "This value is already taken."


def _named(noun: str) -> str:
    """Return a field's noun with its article: "a title", "an email", "minutes"."""
    if noun.endswith("s") and not noun.endswith(("ss", "us")):
        return noun  # plural: minutes
    return f"{'an' if noun[0] in 'aeio' else 'a'} {noun}"  # a user, an email


def instruction(label: str, widget: str, words: str) -> str:
    """Say what to do about a refused field, as a form shows it ("Enter a title"), from the
    API's words for the rule (`app/core/messages.py`: "required", "at most 200 characters").

    A picker asks to choose, any other input to enter; a rule's bound is said with the field
    ("Priority must be at most 5"); a sentence of its own (a time the clocks skip) is kept.
    """
    noun = label.lower()
    picks = widget in ("select", "multiselect")
    if words == "required":
        if widget in ("date", "datetime"):
            return f"Enter {noun} as {KINDS[date if widget == 'date' else datetime]}"
        return f"{'Choose' if picks else 'Enter'} {_named(noun)}"
    if words == UNIQUE:
        return f"This {noun} is already taken: {'choose' if picks else 'enter'} another"
    if words.startswith(("choose ", "enter ")):  # already what to do
        return words[0].upper() + words[1:]
    if words.startswith(_KIND_WORDS) or words in (UNICODE, NO_NUL):
        return f"Enter {noun} as {words}"
    if words.startswith(("a ", "an ")):  # what the value must be: a colour like #1a2b3c
        return f"Enter {words}"
    if words.startswith("not "):
        return f"Enter {_named(noun)} that is {words}"
    if words.startswith("is "):  # is not your current password
        return f"The {noun} entered {words}"
    if picks and words.startswith(("at least ", "at most ")):  # at most 500 tags
        return f"Choose {words}"
    if words.startswith(_RULE_WORDS) or "letters" in words:  # a bound, a pattern
        return f"{label} must be {words}"
    if words.startswith("there "):  # a sentence of its own: a time the clocks skip
        return words[0].upper() + words[1:]
    return f"{label}: {words}"


def query_errors(exc: RequestValidationError, fields: Iterable[FormField]) -> dict[str, str]:
    """Return the messages of a refused query (a GET form's) by field, in the API's words;
    a parameter that is none of the form's `fields` (a hand-made address) under "__all__"."""
    names = {item.name for item in fields}
    errors: dict[str, str] = {}
    for error in exc.errors():
        name, said = str(error["loc"][-1]), error_message(error)
        if name in names:
            errors.setdefault(name, said)
        else:
            errors["__all__"] = f"{errors.get('__all__', '')} {name}: {said}.".strip()
    return errors


def form_errors(exc: WriteError) -> dict[str, str]:
    """Return the messages of a refused write by field, as a form shows them."""
    errors: dict[str, str] = {}
    for error in exc.errors:
        message = error.message
        if error.type == "reference_error":  # the ids refused are the choices offered
            message = f"{choose(error.field)} you can see"
        elif error.type == "unique":
            message = UNIQUE
        errors.setdefault(error.field or "__all__", message)
    return errors
