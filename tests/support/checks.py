"""Checks shared by the API tests: no server errors, 422s naming a field, a look at the database."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from app.core.config import Settings
from app.core.database import create_sync_engine
from app.models import User
from app.models.audit import AuditEntry


def fail_on_server_error(response: httpx.Response) -> None:
    """Raise on any 5xx: a server error is always a bug, whatever the client sent."""
    if response.status_code >= 500:
        response.read()
        raise AssertionError(
            f"{response.request.method} {response.request.url} -> "
            f"{response.status_code}: {response.text[:500]}"
        )


def guarded(factory: Callable[[], httpx.Client]) -> Callable[[], httpx.Client]:
    """Wrap a client factory so every client it makes fails the test on a 5xx."""

    def make() -> httpx.Client:
        client = factory()
        client.event_hooks["response"].append(fail_on_server_error)
        return client

    return make


@contextmanager
def db(settings: Settings) -> Iterator[Connection]:
    """Open a committed connection to the test database, outside the app."""
    engine = create_sync_engine(settings)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def locs(response: httpx.Response) -> list[list[Any]]:
    """Return the `loc` of every error in a 422 body."""
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    return [list(err["loc"]) for err in detail]


def assert_422_naming(response: httpx.Response, field: str) -> None:
    """Check that the request was refused (422) with an error located at `field`."""
    assert response.status_code == 422, response.text
    assert any(field in loc for loc in locs(response)), response.text


def password_checks(settings: Settings, username: str) -> int:
    """How many sign-ins of `username` had their password checked: each is audited, as a
    failure or a success; a refused (429) one is not."""
    with db(settings) as connection:
        user_id = connection.scalar(select(User.id).where(User.username == username))
        checked = select(func.count()).where(
            AuditEntry.event.in_(["sign_in", "sign_in_failed"]), AuditEntry.record_id == user_id
        )
        return connection.scalar(checked) or 0
