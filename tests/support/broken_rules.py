"""Every rule of every input schema, read from the schemas, with a value that breaks it
and the words it must be refused in (`rules_of`): the catalogue `tests/api/test_messages.py`
and `tests/html/test_messages.py` send through the API and the forms. A constraint,
validator, type or reference it has no broken value for fails `rules_of`, so a new rule
cannot come without its words.
"""

import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, EmailStr, Strict
from pydantic.fields import FieldInfo

from app.resources import REGISTRY
from app.schemas.examples import example_body, unwrap
from app.schemas.user import LoginRequest, RegisterRequest
from tests.support.records import CREATABLE

MISSING: Any = type("Missing", (), {"__repr__": lambda _: "MISSING"})()  # the field left out
MISSING_ID = 999_999
ID_MAX = 2**31 - 1
FORM_FIELDS = 1000  # the most fields of one form Starlette reads

# The words each kind of value is asked for in.
KIND_WORDS: dict[Any, str] = {
    str: "text",
    int: "a whole number",
    Decimal: "a number",
    bool: "true or false",
    date: "a date like 2026-01-31",
    datetime: "a date and time like 2026-01-31T09:30",
    EmailStr: "an email address like name@example.com",
}
# What each field naming other records asks for.
CHOOSE = {
    "owner_user_id": "choose a user",
    "owner_group_id": "choose a group",
    "customer_id": "choose a customer",
    "project_id": "choose a project",
    "task_id": "choose a task",
    "assignee_id": "choose an assignee",
    "user_id": "choose a user",
    "tag_ids": "choose tags",
    "role_ids": "choose roles",
    "group_ids": "choose groups",
    "member_ids": "choose members",
    "permission_ids": "choose permissions",
    "condition_id": "choose a condition",
}
COMMON = "not one of the most common passwords: choose one harder to guess"
MODEL_NAME = "lowercase letters, digits and underscores, starting with a letter"
# Settings of a constraint object that are not rules of their own.
NOT_RULES = frozenset({"strip_whitespace", "strict"})
CONSTRAINTS = (
    "min_length",
    "max_length",
    "pattern",
    "ge",
    "gt",
    "le",
    "lt",
    "max_digits",
    "decimal_places",
)
TIGHTEST = {"min_length": max, "ge": max, "gt": max, "max_length": min, "le": min, "lt": min}


@dataclass(frozen=True)
class Broken:
    """One rule of one field broken: the JSON value sent, the words expected at the field,
    and what a form sends to break it (None: no form can)."""

    field: str
    rule: str
    value: Any
    message: str
    form: str | list[str] | None = None

    def __str__(self) -> str:
        return f"{self.field} ({self.rule}: {self.value!r:.40})"


@dataclass
class Limits:
    """What a field's metadata declares: the tightest of each constraint, its validators."""

    values: dict[str, Any]
    validators: list[Callable[..., Any]]

    def get(self, name: str) -> Any:
        return self.values.get(name)


def _settings(meta: Any) -> dict[str, Any]:
    names = [f.name for f in fields(meta)] if is_dataclass(meta) else list(vars(meta))
    return {name: getattr(meta, name) for name in names if getattr(meta, name) is not None}


def limits_of(metadata: list[Any], where: str) -> Limits:
    """Read a field's metadata; anything that is no known constraint or validator fails."""
    found: dict[str, list[Any]] = {}
    validators: list[Callable[..., Any]] = []
    for meta in metadata:
        if isinstance(meta, FieldInfo):
            inner = limits_of(meta.metadata, where)
            validators += inner.validators
            for name, value in inner.values.items():
                found.setdefault(name, []).append(value)
        elif isinstance(meta, AfterValidator | BeforeValidator):
            validators.append(meta.func)
        elif not isinstance(meta, Strict):
            settings = _settings(meta)
            unknown = set(settings) - set(CONSTRAINTS) - NOT_RULES
            assert not unknown, f"{where}: no broken value for {sorted(unknown)} of {meta!r}"
            for name in CONSTRAINTS:
                if name in settings:
                    found.setdefault(name, []).append(settings[name])
    values = {name: TIGHTEST.get(name, lambda v: v[0])(items) for name, items in found.items()}
    return Limits(values, validators)


def is_id(annotation: Any, limits: Limits) -> bool:
    """An id naming a record: a whole number from 1 to the largest id."""
    return annotation is int and limits.get("ge") == 1 and limits.get("le") == ID_MAX


def fitted(value: str, limits: Limits) -> str:
    """Pad `value` to the field's minimum length, so only the rule meant is broken."""
    return value.ljust(limits.get("min_length") or 0, "x")


def nul_rules(limits: Limits) -> list[tuple[str, Any, str, str | None]]:
    nul = fitted("a\x00b", limits)
    return [
        ("no NUL", nul, "text without NUL bytes", nul),
        ("valid Unicode", fitted("a\ud800b", limits), "valid Unicode text", None),
    ]


def trimmed_rules(limits: Limits) -> list[tuple[str, Any, str, str | None]]:
    """Text is trimmed, but its lengths hold as sent (the OpenAPI document's `maxLength`);
    blank once trimmed is no value (a form trims what it sends)."""
    found: list[tuple[str, Any, str, str | None]] = []
    if limits.get("min_length"):
        found.append(("blank", "   ", "required", "   "))
    high = limits.get("max_length")
    if high is not None:
        found.append(("spaces count", "x" * high + " ", f"at most {high} characters", None))
    return found


def not_a_number_rules(kind: Any) -> list[tuple[str, Any, str, str | None]]:
    words = f"{KIND_WORDS[kind]}, not a number"
    return [("not a number", 0, words, "20240101"), ("not a number", "0.5", words, "0.5")]


# validator (`__qualname__`) -> (rule, JSON value, words, form value) for each rule it holds
VALIDATORS: dict[str, Callable[[Any, Limits], list[tuple[str, Any, str, str | None]]]] = {
    "no_nul": lambda kind, limits: nul_rules(limits),
    "_trimmed.<locals>.trim": lambda kind, limits: trimmed_rules(limits),
    "_given_password": lambda kind, limits: nul_rules(limits),
    "_new_password": lambda kind, limits: [
        *nul_rules(limits),
        ("not common", "password", COMMON, "password"),
        # 8 characters as typed, 4 once composed (NFC): counted as stored
        ("8 once composed", "e\u0301" * 4, "at least 8 characters", "e\u0301" * 4),
    ],
    "_as_utc": lambda kind, limits: [
        (
            "within years 1 to 9999",
            "9999-12-31T23:00:00-05:00",
            f"{KIND_WORDS[datetime]}, within years 1 to 9999 in UTC",
            "9999-12-31T23:00:00-05:00",
        )
    ],
    "_zone": lambda kind, limits: [
        ("time zone", "Mars/Olympus", "a time zone such as Europe/Berlin or UTC", "Mars/Olympus"),
        ("time zone", "europe/berlin", "a time zone such as Europe/Berlin or UTC", "europe/berlin"),
    ],
    "_not_a_number.<locals>.check": lambda kind, limits: not_a_number_rules(kind),
    "_not_a_bool": lambda kind, limits: [],  # ids: their own rules below
    "model_name": lambda kind, limits: [
        ("model name", "Task", MODEL_NAME, "Task"),
        ("model name", "1task", MODEL_NAME, "1task"),
    ],
    "str.lower": lambda kind, limits: [],  # no rule: emails are stored lowercased
}


def kind_words(annotation: Any) -> str:
    if typing.get_origin(annotation) is typing.Literal:
        return "one of: " + ", ".join(map(str, typing.get_args(annotation)))
    return KIND_WORDS[annotation]


def type_rules(annotation: Any, where: str) -> list[tuple[str, Any, str, str | None]]:
    """Return values of the wrong kind for a field of the bare type `annotation`."""
    if typing.get_origin(annotation) is typing.Literal:
        words = kind_words(annotation)
        return [("one of", "bogus", words, "bogus"), ("one of", 12345, words, None)]
    values: dict[Any, list[tuple[Any, str | None]]] = {
        str: [(12345, None), ({"a": 1}, None)],
        EmailStr: [("not-an-email", "not-an-email"), ("a@b", "a@b")],
        int: [("abc", "abc"), (2.5, "2.5"), ([1], None)],
        Decimal: [("abc", "abc"), ("NaN", "NaN"), ([1], None)],
        bool: [("yes", None), (1, None), ("true", None)],
        date: [("2024-02-30", "2024-02-30"), ("soon", "soon"), ("2024-01-01T10:00:00", None)],
        datetime: [("not a time", "not a time"), ("2024-13-01T00:00:00Z", "2024-13-01T00:00")],
    }
    assert annotation in values, f"{where}: no wrong value for a field of type {annotation!r}"
    return [("the kind", value, KIND_WORDS[annotation], form) for value, form in values[annotation]]


def length_rules(annotation: Any, limits: Limits, description: str | None, where: str) -> list:
    """Return a value just outside each length and the pattern a text field declares (a
    form sends them as typed)."""
    found: list[tuple[str, Any, str, str | None]] = []
    low, high, pattern = (limits.get(n) for n in ("min_length", "max_length", "pattern"))
    if low:
        found.append(("required", "", "required", ""))
        if low > 1:
            short = "x" * (low - 1)
            found.append((f"min {low}", short, f"at least {low} characters", short))
    if high is not None:
        # an email address is refused as one (at most 254 characters) before its length
        words = KIND_WORDS[EmailStr] if annotation is EmailStr else f"at most {high} characters"
        found.append((f"max {high}", "x" * (high + 1), words, "x" * (high + 1)))
    if pattern is not None:
        value = "!" * max(low or 1, 3)
        assert not re.search(pattern, value) and len(value) <= (high or len(value)), where
        assert description and not re.search(r"[\\^$\[\]]", description), (
            f"{where}: its pattern {pattern!r} needs its words: declare it with "
            "app.core.messages.pattern(regex, words)"
        )
        found.append(("pattern", value, description, value))
    return found


def number_rules(annotation: Any, limits: Limits) -> list[tuple[str, Any, str, str | None]]:
    """Return a value just outside each bound and digit limit a number field declares."""
    found: list[tuple[str, Any, str, str | None]] = []
    as_sent = (lambda n: n) if annotation is int else (lambda n: str(n))
    for name, step, words in (
        ("ge", -1, "at least"),
        ("gt", 0, "more than"),
        ("le", 1, "at most"),
        ("lt", 0, "less than"),
    ):
        bound = limits.get(name)
        if bound is not None:
            value = as_sent(bound + step)
            found.append((f"{name} {bound}", value, f"{words} {bound}", str(value)))
    digits, places = limits.get("max_digits"), limits.get("decimal_places")
    if digits is not None:
        found.append(("digits", "1" * (digits + 1), f"at most {digits} digits", "1" * (digits + 1)))
    if places is not None:
        value = "0." + "1" * (places + 1)
        found.append(("places", value, f"at most {places} decimal places", value))
        if digits is not None:
            whole = digits - places
            value = "1" * (whole + 1)
            words = f"at most {whole} digits before the decimal point"
            found.append(("whole digits", value, words, value))
    return found


def id_rules(name: str, many: bool, where: str) -> list[tuple[str, Any, str, str | None]]:
    """Return malformed ids for a field naming records: each asks to choose one."""
    assert name in CHOOSE, f"{where} names records: add what it asks for to CHOOSE"
    words = CHOOSE[name]
    found = [("an id", value, words, str(value)) for value in ("abc", 0, -1, ID_MAX + 1, 1.5)]
    found.append(("an id", True, words, None))
    if many:
        found = [
            (rule, [value], words, None if form is None else [form])
            for rule, value, words, form in found
        ]
        found.append(("a list", "1", words, None))
    return found


def field_rules(schema: type[BaseModel], name: str, info: FieldInfo) -> list[Broken]:
    """Return a broken value for each rule of one field, with the words it must bring."""
    where = f"{schema.__name__}.{name}"
    annotation, optional, outer = unwrap(info.annotation)
    limits = limits_of([*info.metadata, *outer], where)
    item: Any = None
    if typing.get_origin(annotation) is list:
        item, _, item_meta = unwrap(typing.get_args(annotation)[0])
        item_limits = limits_of(item_meta, f"{where}[]")
        assert is_id(item, item_limits), f"{where}: a list of {item!r} has no broken values here"
        limits.validators += item_limits.validators
    reference = is_id(annotation, limits) or item is not None
    empty = CHOOSE.get(name, "required") if reference else "required"
    found: list[tuple[str, Any, str, str | None]] = []
    if info.is_required():
        found.append(("required", MISSING, empty, ""))
    if not optional:  # null is no value either; a form sends "" (a checkbox cannot)
        found.append(("not null", None, empty, None if annotation is bool or item else ""))
    if reference:
        found += id_rules(name, item is not None, where)
        if item is not None and limits.get("max_length") is not None:
            high = limits.get("max_length")
            many = CHOOSE[name].removeprefix("choose ")
            # a form of more fields than Starlette reads (1,000) is refused before its rules
            form = ["1"] * (high + 1) if high < FORM_FIELDS - 100 else None
            found.append((f"max {high}", [1] * (high + 1), f"at most {high} {many}", form))
        covered = {"ge", "le", "max_length"}
    elif annotation in (str, EmailStr):
        found += type_rules(annotation, where)
        found += length_rules(annotation, limits, info.description, where)
        covered = {"min_length", "max_length", "pattern"}
    else:
        found += type_rules(annotation, where)
        found += number_rules(annotation, limits)
        covered = {"ge", "gt", "le", "lt", "max_digits", "decimal_places"}
    unchecked = set(limits.values) - covered
    assert not unchecked, f"{where}: no broken value for {sorted(unchecked)}"
    for func in limits.validators:
        qualname = getattr(func, "__qualname__", repr(func))
        assert qualname in VALIDATORS, f"{where}: add the rules of {qualname} to VALIDATORS"
        found += VALIDATORS[qualname](annotation, limits)
    guarded = "_booleans_only_for_booleans" in schema.__pydantic_decorators__.field_validators
    if guarded and annotation is not bool:
        words = empty if reference else kind_words(annotation)
        if not reference and typing.get_origin(annotation) is not typing.Literal:
            words += ", not true or false"
        found.append(("not true or false", True, words, None))
    return [Broken(name, rule, value, words, form) for rule, value, words, form in found]


def rules_of(schema: type[BaseModel]) -> list[Broken]:
    """Return a broken value for every rule of `schema`, each with its words."""
    decorators = schema.__pydantic_decorators__
    known = {"_booleans_only_for_booleans"}
    assert set(decorators.field_validators) <= known, f"{schema.__name__}: a validator's rules"
    assert not decorators.model_validators, f"{schema.__name__}: a model validator's rules"
    found = [
        case
        for name, info in schema.model_fields.items()
        for case in field_rules(schema, name, info)
    ]
    if schema.model_config.get("extra") == "forbid":
        found.append(Broken("bogus_field", "no such field", 1, "unknown field"))
    return found


RESOURCE_SCHEMAS = [
    (f"{path} {kind}", schema)
    for path in CREATABLE
    for kind, schema in (
        ("create", REGISTRY[path].create_schema),
        ("update", REGISTRY[path].update_schema),
    )
]
SCHEMAS = [*RESOURCE_SCHEMAS, ("register", RegisterRequest), ("login", LoginRequest)]


def valid_body(schema: type[BaseModel]) -> dict[str, Any]:
    """Return the required fields of `schema` with valid values (records named: id 1)."""
    ids = {
        name: 1
        for name, info in schema.model_fields.items()
        if info.is_required() and name in CHOOSE
    }
    return example_body(schema, text="valid_example", given=ids)


def with_broken(body: dict[str, Any], case: Broken) -> dict[str, Any]:
    if case.value is MISSING:
        return {name: value for name, value in body.items() if name != case.field}
    return body | {case.field: case.value}
