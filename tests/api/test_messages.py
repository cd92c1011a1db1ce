"""Every rule of every input schema says what it wants in words, in the API and the pages alike.

The rules are read from the schemas (`rules_of`, `tests/support/broken_rules.py`): each
field's type, its constraints and its validators, `InputSchema`'s guard against true and
false, unknown fields. A constraint, validator, type or reference that has no broken value
there fails
`test_every_rule_is_broken_in_words`, so a new rule cannot come without its words. Each
rule is broken in process and through the API (create and update of every resource,
registration, sign-in, a password change), with the records a field names and the rules
over several fields; `tests/html/test_messages.py` sends the same values through the forms.
"""

import json
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ValidationError

from app.core.messages import error_message
from app.resources import REGISTRY
from app.schemas.user import LoginRequest, RegisterRequest
from tests.html.test_write_rules import rule_breaches
from tests.support.broken_rules import (
    CHOOSE,
    MISSING_ID,
    SCHEMAS,
    rules_of,
    valid_body,
    with_broken,
)
from tests.support.records import CREATABLE, Records


def messages_at(detail: list[dict[str, Any]], field: str) -> set[str]:
    return {error["msg"] for error in detail if list(error["loc"][:2]) == ["body", field]}


@pytest.mark.parametrize(("label", "schema"), SCHEMAS, ids=[label for label, _ in SCHEMAS])
def test_every_rule_is_broken_in_words(label: str, schema: type[BaseModel]) -> None:
    """Break each rule of the schema in process: the words at the field, and only those.

    Reading the rules fails on any `tests/support/broken_rules.py` cannot break: a new
    constraint, validator, type or reference needs its words there first."""
    body = valid_body(schema) if "update" not in label else {}
    cases = rules_of(schema)
    assert cases, label
    for case in cases:
        with pytest.raises(ValidationError) as refused:
            schema.model_validate(with_broken(body, case))
        errors = [error | {"loc": ("body", *error["loc"])} for error in refused.value.errors()]
        said = messages_at([error | {"msg": error_message(error)} for error in errors], case.field)
        assert said == {case.message}, f"{label} {case}: {said}"


def test_the_words_of_a_few_rules_read_as_the_issue_asks() -> None:
    """The words, spelt out: what people read at a short password and an empty picker."""
    words = {(c.field, c.rule, repr(c.value)): c.message for c in rules_of(RegisterRequest)}
    assert words["password", "min 8", repr("x" * 7)] == "at least 8 characters"
    assert words["username", "pattern", "'!!!'"] == "letters, digits, '.', '_' and '-' only"
    task = {
        (c.field, c.rule, repr(c.value)): c.message
        for c in rules_of(REGISTRY["tasks"].create_schema)
    }
    assert task["project_id", "required", "MISSING"] == "choose a project"
    assert task["status", "one of", "'bogus'"] == "one of: todo, in_progress, blocked, done"
    tag = {(c.field, c.rule): c.message for c in rules_of(REGISTRY["tags"].create_schema)}
    assert tag["color", "pattern"] == "a colour like #1a2b3c"


# Through the API


def send(client: httpx.Client, method: str, url: str, body: dict[str, Any]) -> httpx.Response:
    """Send `body` as JSON text, so even a lone surrogate goes as written (`\\ud800`)."""
    headers = {"Content-Type": "application/json"}
    return client.request(method, url, content=json.dumps(body), headers=headers)


def assert_words(response: httpx.Response, field: str, words: str, label: str) -> None:
    """Check a 422 whose only message at `field` is `words`; pydantic's `type` stays."""
    assert response.status_code == 422, f"{label}: {response.status_code} {response.text[:300]}"
    detail = response.json()["detail"]
    assert messages_at(detail, field) == {words}, f"{label}: {detail}"
    assert all(error["type"] for error in detail), detail


@pytest.mark.parametrize("path", CREATABLE)
def test_the_api_says_each_rule_in_words(admin: httpx.Client, records: Records, path: str) -> None:
    """Break every rule of `path` on create and on update: each 422 says it in words."""
    res = REGISTRY[path]
    assert res.create_schema is not None and res.update_schema is not None
    body, record = records.body(path), records.create(path)
    url = f"/{path}/{record['id']}"
    for case in rules_of(res.create_schema):
        response = send(admin, "POST", f"/{path}", with_broken(body, case))
        assert_words(response, case.field, case.message, f"create {path} {case}")
    for case in rules_of(res.update_schema):
        response = send(admin, "PUT", url, with_broken({}, case))
        assert_words(response, case.field, case.message, f"update {path} {case}")
    assert admin.get(url).json() == record


@pytest.mark.parametrize("path", CREATABLE)
def test_records_and_rules_over_fields_in_words(
    admin: httpx.Client, records: Records, path: str
) -> None:
    """A record that does not exist, and each rule over several fields, in words."""
    res = REGISTRY[path]
    body, record = records.body(path), records.create(path)
    assert res.create_schema is not None
    owners = ("owner_user_id", "owner_group_id")
    names = [n for n in (*res.references, *owners) if n in res.create_schema.model_fields]
    for name in names:
        value = [MISSING_ID] if name.endswith("_ids") else MISSING_ID
        words = f"{CHOOSE[name]} you can see (not {MISSING_ID})"
        response = admin.post(f"/{path}", json=body | {name: value})
        assert_words(response, name, words, f"create {path} {name}")
        response = admin.put(f"/{path}/{record['id']}", json={name: value})
        assert_words(response, name, words, f"update {path} {name}")
    for kept, breach in rule_breaches(res):
        response = admin.post(f"/{path}", json=body | kept | breach.change)
        for name in breach.named:
            assert_words(response, name, breach.why, f"create {path} {breach.why}")
        changed = records.create(path, **kept)
        response = admin.put(f"/{path}/{changed['id']}", json=breach.change)
        for name in breach.named:
            assert_words(response, name, breach.why, f"update {path} {breach.why}")


def test_registration_and_sign_in_say_each_rule_in_words(anon: httpx.Client) -> None:
    body = {"username": "newcomer", "email": "newcomer@example.com", "password": "tidal-parsnip-42"}
    for case in rules_of(RegisterRequest):
        response = send(anon, "POST", "/auth/register", with_broken(body, case))
        assert_words(response, case.field, case.message, f"register {case}")
    for case in rules_of(LoginRequest):
        response = send(
            anon,
            "POST",
            "/auth/login",
            with_broken({"username": "demo", "password": "demo123"}, case),
        )
        assert_words(response, case.field, case.message, f"sign in {case}")


def test_a_password_change_says_what_it_needs(demo: httpx.Client) -> None:
    url = f"/users/{demo.get('/auth/me').json()['id']}"
    missing = demo.put(url, json={"password": "tidal-new-pass"})
    assert_words(
        missing, "current_password", "enter your current password to set a new one", "missing"
    )
    wrong = demo.put(url, json={"password": "tidal-new-pass", "current_password": "nope-nope"})
    assert_words(wrong, "current_password", "is not your current password", "wrong")
