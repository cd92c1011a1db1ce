"""Helpers for the HTML tests: sign-in through the pages, CSRF tokens, checks, a database dump.

Also the checks of a refused form: a bad value sent, and the 422 page it must bring back.
"""

import json
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine, select

import app.models  # noqa: F401  (every table in the metadata)
from app.core.config import Settings
from app.core.database import Base, create_sync_engine
from tests.conftest import Backend
from tests.html.dom import FormData, Page
from tests.support.records import PARENTS, Records, own_fields

# Written by reading a page (a session's touch), not by what a request changes.
VOLATILE_COLUMNS = frozenset({"last_seen_at", "updated_at"})

# The controls a re-rendered form must show as entered.
SHOWN_KINDS = ("text", "textarea", "email", "number", "date", "datetime-local")

_engines: dict[str, Engine] = {}


def page(client: httpx.Client, path: str, status: int = 200) -> Page:
    """Fetch an HTML page and check its status and that it is HTML."""
    response = client.get(path)
    assert_html(response, status)
    return Page(response)


def csrf_token(client: httpx.Client, path: str = "/dashboard") -> str:
    """Return the CSRF token on `path`'s forms, as this client's session sees it."""
    return page(client, path).csrf_token


def sign_in(
    client: httpx.Client, username: str, password: str, next: str | None = None
) -> httpx.Response:
    """Sign in through the login form, carrying the anonymous visitor's CSRF token."""
    token = csrf_token(client, "/login")
    data = {"username": username, "password": password, "csrf_token": token}
    if next is not None:
        data["next"] = next
    return client.post("/login", data=data)


def submit(
    client: httpx.Client,
    action: str,
    data: FormData | dict[str, Any],
    token: str | None,
    method: str = "POST",
) -> httpx.Response:
    """Send a form (or a script's DELETE, token in the header) as the page would."""
    if method == "DELETE":
        headers = {"X-CSRF-Token": token} if token is not None else {}
        return client.request("DELETE", action, headers=headers)
    body = dict(data)
    if token is not None:
        body["csrf_token"] = token
    else:
        body.pop("csrf_token", None)
    return client.request(method, action, data=body)


def assert_html(response: httpx.Response, status: int) -> None:
    """Check the status and that the answer is an HTML page, never a JSON error."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: expected {status}, "
        f"got {response.status_code}: {response.text[:300]}"
    )
    if status in (301, 302, 303, 307, 308):
        return
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith("text/html"), (response.request.url, content_type)
    text = response.text.lstrip()
    assert text.lower().startswith("<!doctype html>"), text[:200]
    try:
        json.loads(text)
    except ValueError:
        pass
    else:
        raise AssertionError(f"JSON answer to an HTML request: {text[:200]}")


def location(response: httpx.Response) -> str:
    """Return where a 303 sends the browser."""
    assert response.status_code == 303, (response.status_code, response.text[:300])
    return response.headers["location"]


def dump(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of every table (volatile columns left out), to compare before/after."""
    url = settings.sync_database_url
    if url not in _engines:
        _engines[url] = create_sync_engine(settings)
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with _engines[url].connect() as connection:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name not in VOLATILE_COLUMNS]
            found = connection.execute(select(*columns)).all()
            rows[table.name] = sorted((tuple(row) for row in found), key=repr)
    return rows


def fill_new(records: Records, path: str, data: FormData) -> FormData:
    """Fill a new-record form's required fields with valid values (parents made as admin)."""
    filled = dict(data)
    filled |= {name: [str(value)] for name, value in own_fields(path).items()}
    if path in PARENTS:
        name, parent = PARENTS[path]
        filled[name] = [str(records.create(parent)["id"])]
    filled.pop("csrf_token", None)
    return filled


@dataclass(frozen=True)
class Bad:
    """One bad value for one field, and the fields that may carry its message."""

    field: str
    value: str | list[str]
    why: str
    flagged: tuple[str, ...] = ()

    @property
    def expected(self) -> tuple[str, ...]:
        return self.flagged or (self.field,)


def with_bad(data: FormData, case: Bad, path: str) -> FormData:
    """Return valid `data` with the bad value in place (and what its rule compares it to)."""
    sent = dict(data)
    sent[case.field] = case.value if isinstance(case.value, list) else [case.value]
    if case.field == "model" and path == "permissions":
        sent |= {"action": ["read"], "scope": ["own"]}
    if case.field == "due_date":
        sent["start_date"] = ["2024-05-05"]
    return sent


def check_rerendered(response: httpx.Response, case: Bad, sent: FormData, token: str) -> None:
    """Check the 422 page: the message at the field, the values as entered, a fresh form."""
    label = f"{case.field}={case.value!r} ({case.why})"
    assert response.status_code == 422, f"{label}: {response.status_code} {response.text[:300]}"
    assert_html(response, 422)
    shown = Page(response)
    errors = shown.errors()
    flagged = [name for name in case.expected if errors.get(name)]
    assert flagged, f"{label}: no message at {case.expected}; messages: {errors}"
    for name in flagged:
        message = shown.root.by_id(f"{name}-error")
        control = shown.root.by_id(name)
        assert message is not None and control is not None, label
        assert message.parent is not None and message.parent.contains(control), (
            f"{label}: the message is not next to the field"
        )
        if control.attrs.get("type") != "checkbox":
            assert control.attrs.get("aria-invalid") == "true", label
            assert f"{name}-error" in control.attrs.get("aria-describedby", ""), label
    form = shown.form()
    assert form.data()["csrf_token"] == [token], f"{label}: the form lost its token"
    for control in form.controls:
        if control.kind not in SHOWN_KINDS or control.name not in sent:
            continue
        entered = [value.strip() for value in sent[control.name]]
        assert control.submitted() == entered, (
            f"{label}: {control.name} shows {control.submitted()}, entered {entered}"
        )
    for name, entered in sent.items():
        control = next((c for c in form.controls if c.name == name), None)
        if control is None or control.kind not in ("select", "select-multiple"):
            continue
        offered = {value for value, _ in control.options()}
        if all(value in offered for value in entered):
            assert sorted(control.submitted()) == sorted(entered), f"{label}: {name} not kept"


def try_bad_inputs(
    browser: httpx.Client, live: Backend, action: str, data: FormData, cases: list[Bad], path: str
) -> None:
    """Send each bad value on top of valid `data`; check every answer and the database."""
    token = data["csrf_token"][0]
    before = dump(live.settings)
    for case in cases:
        sent = with_bad(data, case, path)
        response = submit(browser, action, sent, token)
        check_rerendered(response, case, sent, token)
    assert dump(live.settings) == before, "a refused form changed the database"


def follow_flash(browser: httpx.Client, response: httpx.Response, message: str) -> Page:
    """Follow a 303 and check the next page shows `message` once, as a flash."""
    target = location(response)
    shown = page(browser, target)
    assert any(message in text for text in shown.flashes()), shown.flashes()
    assert page(browser, target).flashes() == [], "the flash message showed twice"
    return shown
