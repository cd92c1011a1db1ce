"""Checks shared by the API tests: no server errors, and direct looks at the database."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy.engine import Connection

from app.core.config import Settings
from app.core.database import create_sync_engine


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
