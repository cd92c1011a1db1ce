"""Every resource's write rules, broken through the JSON API and through the pages: one answer.

Both go through the one write path (`app/services/writes.py`), so the same invalid write must
be refused with the same status class and at the same fields, on create and on update.
The rules are read from the registry and the schemas, so a new table is walked too:

- each field's declared limits (lengths, bounds, choices, patterns; the database checks
  mirror them),
- each record a field names: one that does not exist, and one the caller may not read,
- each unique key,
- each rule over several fields (`InputSchema.rules`), on create and on a partial update
  that changes one field: the API sends only that field, the edit form the whole record as
  shown with that field changed.
"""

import itertools
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, EmailStr, ValidationError
from pydantic.fields import FieldInfo
from sqlalchemy import UniqueConstraint

from app.resources import REGISTRY, RESOURCES, Resource
from app.schemas.examples import constraint, example_body, unwrap
from tests.conftest import Backend
from tests.html.conftest import Browser
from tests.html.dom import FormData, Page
from tests.html.site import dump, page, submit
from tests.support.callers import Callers, permissions
from tests.support.checks import locs
from tests.support.records import (
    CREATABLE,
    OWNER_FIELDS,
    Records,
    own_fields,
    required_parents,
)

MISSING_ID = 999_999
# Values tried for the fields of a rule over several fields, to find a pair that breaks it.
TRIED: dict[Any, tuple[Any, ...]] = {
    date: ("2024-01-01", "2024-06-01", "2024-12-31"),
    int: (0, 1, 100),
    Decimal: ("0.00", "1.00", "100.00"),
    str: ("a", "m", "z"),
}


@dataclass(frozen=True)
class Breach:
    """An invalid write: the fields it changes (JSON values) and the fields it must name."""

    why: str
    change: dict[str, Any]
    named: frozenset[str]


def schema_of(res: Resource) -> type[BaseModel]:
    assert res.create_schema is not None
    return res.create_schema


def outside_limits(info: FieldInfo) -> list[tuple[str, Any]]:
    """Return (why, value) for a value just outside each limit a field declares."""
    annotation, _, metadata = unwrap(info.annotation)
    limits = {
        kind: constraint(info, kind, metadata)
        for kind in ("max_length", "min_length", "pattern", "ge", "gt", "le", "lt")
    }
    values: list[tuple[str, Any]] = []
    if typing.get_origin(annotation) is typing.Literal:
        values.append(("not one of the choices", "bogus"))
    if annotation is EmailStr:
        values.append(("not an email address", "not-an-email"))
    if annotation is str:
        if limits["max_length"]:
            values.append(("too long", "x" * (limits["max_length"] + 1)))
        if limits["min_length"] and info.is_required():
            values.append(("too short", "x" * (limits["min_length"] - 1)))
        if limits["pattern"]:
            values.append(("not the pattern", "not a match!"))
    if annotation in (int, Decimal):
        number = int if annotation is int else str
        for kind, outside in (("ge", -1), ("gt", 0), ("le", 1), ("lt", 0)):
            if limits[kind] is not None:
                values.append((f"{kind} {limits[kind]}", number(limits[kind] + outside)))
    return values


def limit_breaches(res: Resource) -> list[Breach]:
    """Return a value just outside each declared limit of each field."""
    return [
        Breach(f"{name}: {why}", {name: value}, frozenset({name}))
        for name, info in schema_of(res).model_fields.items()
        for why, value in outside_limits(info)
    ]


def reference_breaches(res: Resource) -> list[Breach]:
    """Return a record that does not exist for each field naming one, owners included."""
    return [
        Breach(
            f"{name}: no such record",
            {name: [MISSING_ID] if name.endswith("_ids") else MISSING_ID},
            frozenset({name}),
        )
        for name in (*res.references, *OWNER_FIELDS)
        if name in schema_of(res).model_fields
    ]


def rule_breaches(res: Resource) -> list[tuple[dict[str, Any], Breach]]:
    """Return, for each rule over several fields, values that keep it and a one-field change
    that breaks it (found by trying a few values of each field's type)."""
    schema = schema_of(res)
    found: list[tuple[dict[str, Any], Breach]] = []
    for rule in getattr(schema, "rules", ()):
        tried = [TRIED[unwrap(schema.model_fields[name].annotation)[0]] for name in rule.fields]
        combos = [
            dict(zip(rule.fields, values, strict=True)) for values in itertools.product(*tried)
        ]
        keeps = [combo for combo in combos if holds(res, rule.holds, combo)]
        breaks = [combo for combo in combos if not holds(res, rule.holds, combo)]
        pair = next(
            (
                (kept, {name: broken[name]})
                for kept in keeps
                for broken in breaks
                if sum(kept[name] != broken[name] for name in rule.fields) == 1
                for name in rule.fields
                if kept[name] != broken[name]
            ),
            None,
        )
        assert pair, f"{res.path}: no values of {rule.fields} break {rule.message!r}"
        found.append((pair[0], Breach(rule.message, pair[1], frozenset(rule.fields))))
    return found


def holds(res: Resource, rule: Callable[[Any], bool], combo: dict[str, Any]) -> bool:
    """Return whether `rule` holds on a valid record of `res` with these values."""
    schema = schema_of(res)
    body = example_body(schema, given=dict.fromkeys(required_parents(res), 1))
    try:
        record = schema.model_validate(body | combo)
    except ValidationError:
        return True
    return rule(record.model_dump())


def unique_keys(res: Resource) -> list[list[str]]:
    """Return the columns of each unique key of the resource's table."""
    return [
        [column.name for column in key.columns]
        for key in res.model.__table__.constraints
        if isinstance(key, UniqueConstraint)
    ]


def form_values(change: dict[str, Any]) -> FormData:
    """Return the change as a form sends it."""
    return {
        name: [str(item) for item in value] if isinstance(value, list) else [str(value)]
        for name, value in change.items()
    }


def api_answer(response: httpx.Response) -> tuple[int, frozenset[str]]:
    """Return the status class the API gave and the fields it named."""
    if response.status_code == 409:
        detail = response.json()["detail"]
        assert detail.endswith(" already exists"), detail
        return 409, frozenset(detail.removesuffix(" already exists").split(", "))
    if response.status_code == 422:
        return 422, frozenset(loc[1] for loc in locs(response) if loc[0] == "body")
    return response.status_code, frozenset()


def form_answer(response: httpx.Response) -> tuple[int, frozenset[str]]:
    """Return the status the page gave (a clash is 409 in the API, 422 at the fields here)
    and the fields it named."""
    named = frozenset(name for name, text in Page(response).errors().items() if text)
    return response.status_code, named


def same_answer(label: str, breach: Breach, api: httpx.Response, form: httpx.Response) -> None:
    api_status, api_named = api_answer(api)
    form_status, form_named = form_answer(form)
    where = f"{label} {breach.why}: API {api.status_code} {api.text[:200]}"
    assert api_status in (409, 422), where
    assert form_status == (403 if api_status == 403 else 422), f"{where}; page {form_status}"
    assert api_named == breach.named, where
    assert form_named == breach.named, f"{label} {breach.why}: the page named {sorted(form_named)}"


class Writer:
    """Send one write through the API and through the pages, as one caller."""

    def __init__(self, path: str, api: httpx.Client, browser: Browser) -> None:
        self.path, self.api, self.browser = path, api, browser

    def create(self, body: dict[str, Any], breach: Breach) -> None:
        response = self.api.post(f"/{self.path}", json=body | breach.change)
        form = page(self.browser, f"/{self.path}/new").form(f"/{self.path}")
        data = form.data() | form_values(body) | form_values(breach.change)
        shown = submit(self.browser, f"/{self.path}", data, data["csrf_token"][0])
        same_answer(f"create {self.path}", breach, response, shown)

    def update(self, record: dict[str, Any], breach: Breach) -> None:
        url = f"/{self.path}/{record['id']}"
        response = self.api.put(url, json=breach.change)
        data = page(self.browser, f"{url}/edit").form(url).data() | form_values(breach.change)
        shown = submit(self.browser, url, data, data["csrf_token"][0])
        same_answer(f"update {self.path}", breach, response, shown)


@pytest.mark.parametrize("path", CREATABLE)
def test_the_same_invalid_write_gets_the_same_answer(
    path: str, admin: httpx.Client, admin_browser: Browser, records: Records, live: Backend
) -> None:
    """Break each limit, reference, unique key and rule of `path` through both; write nothing."""
    res = REGISTRY[path]
    writer = Writer(path, admin, admin_browser)
    record, other = records.create(path), records.create(path)
    rules = [(records.create(path, **kept), kept, breach) for kept, breach in rule_breaches(res)]
    body = records.body(path)
    before = dump(live.settings)
    for breach in [*limit_breaches(res), *reference_breaches(res)]:
        writer.create(body, breach)
        writer.update(record, breach)
    for kept_record, kept, breach in rules:
        writer.create(body, Breach(breach.why, kept | breach.change, breach.named))
        writer.update(kept_record, breach)
    for key in unique_keys(res):
        taken = Breach(f"{key} taken", {name: other[name] for name in key}, frozenset(key))
        writer.create(body, taken)
        writer.update(record, taken)
    assert dump(live.settings) == before, "a refused write changed the database"


# (resource, field, the resource whose record it names) for every such field
NAMED = [
    (res.path, name, target)
    for res in RESOURCES
    if res.create_schema is not None
    for name, target in res.references.items()
]


@pytest.mark.parametrize(("path", "field", "target"), NAMED)
def test_a_record_the_caller_cannot_read_is_named_the_same_way(
    path: str,
    field: str,
    target: str,
    callers: Callers,
    records: Records,
    signed_in: Callable[[str, str], Browser],
) -> None:
    """Name a record the caller may not read, creating and updating: 422 at the field in both."""
    res = REGISTRY[path]
    reads = {f"{REGISTRY[name].policy_model}:read:own" for name in res.references.values()}
    user, api = callers(*permissions(path, "all", ("create", "read", "update")), *sorted(reads))
    browser = signed_in(user["username"], "tidal-parsnip-42")
    body = own_fields(path) | {
        name: records.create(parent, owner_user_id=user["id"])["id"]
        for name, parent in required_parents(res).items()
    }
    created = api.post(f"/{path}", json=body)
    assert created.status_code == 201, created.text
    hidden = records.create(target)["id"]
    breach = Breach(
        f"{field}: a record the caller cannot read",
        {field: [hidden] if field.endswith("_ids") else hidden},
        frozenset({field}),
    )
    writer = Writer(path, api, browser)
    writer.create(body, breach)
    writer.update(created.json(), breach)
