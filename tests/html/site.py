"""Helpers for the HTML tests: sign-in through the pages, CSRF tokens, checks, a database dump."""

import json
from typing import Any

import httpx
from sqlalchemy import Engine, select

import app.models  # noqa: F401  (every table in the metadata)
from app.core.config import Settings
from app.core.database import Base, create_sync_engine
from tests.html.dom import FormData, Page
from tests.support.records import PARENTS, Records, own_fields

# Written by reading a page (a session's touch), not by what a request changes.
VOLATILE_COLUMNS = frozenset({"last_seen_at", "updated_at"})

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


def fail_on_server_error(response: httpx.Response) -> None:
    """Raise on any 5xx: no page answers with a server error, whatever was sent."""
    if response.status_code >= 500:
        response.read()
        raise AssertionError(
            f"{response.request.method} {response.request.url} -> "
            f"{response.status_code}: {response.text[:500]}"
        )


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
