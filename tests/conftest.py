"""Test harness: the real app, served by uvicorn over loopback, on SQLite and PostgreSQL.

Each pytest worker creates its own throwaway database per backend (a PostgreSQL database
on the `TEST_DATABASE_URL` server, a SQLite file), migrates it with Alembic once, and
resets it to the seeded state before every test that uses the server.
"""

import os

# Cheap password hashing for the suite; set before the app reads its settings.
os.environ.setdefault("ARGON2_TIME_COST", "1")
os.environ.setdefault("ARGON2_MEMORY_COST", "1024")
# `app.main` builds the default app on import: the suite's own settings, never a `.env`'s.
os.environ.setdefault("ENVIRONMENT", "test")
os.environ.setdefault("SECRET_KEY", "test-secret-key-of-at-least-32-bytes")

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select

from app.core.config import Settings
from app.core.database import create_sync_engine
from app.core.lists import COUNT_CAP
from app.models import Tag, User
from tests.support import database, server

BACKENDS = ["sqlite", "postgresql"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


@dataclass
class Backend:
    name: str
    settings: Settings
    base_url: str


def pytest_report_header() -> str:
    return f"backends: {', '.join(BACKENDS)}"


@pytest.fixture(scope="session", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """A migrated database and a live server for one backend, for the whole session."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    if request.param == "postgresql":
        url = database.create_postgres_database(os.environ["TEST_DATABASE_URL"], worker)
        settings = database.test_settings(database_url=url)
    else:
        path: Path = tmp_path_factory.mktemp("sqlite") / "app.db"
        settings = database.test_settings(database_url=f"sqlite:///{path}", sqlite_path=path)
    database.migrate(settings)
    database.reset(settings)
    with server.serve(settings) as base_url:
        yield Backend(request.param, settings, base_url)
    if request.param == "postgresql":
        database.drop_postgres_database(os.environ["TEST_DATABASE_URL"], settings)


@pytest.fixture
def live(backend: Backend) -> Backend:
    """The backend, reset to the seeded default data."""
    database.reset(backend.settings)
    return backend


@pytest.fixture
def client_factory(live: Backend) -> Iterator[Callable[[], httpx.Client]]:
    """Make HTTP clients for the API; each has its own cookie jar."""
    yield from client_pool(base_url=f"{live.base_url}/api/v1")


def client_pool(**options: Any) -> Iterator[Callable[[], httpx.Client]]:
    """Yield a maker of `httpx.Client(**options)`, each with its own cookies; close them all."""
    clients: list[httpx.Client] = []

    def make() -> httpx.Client:
        client = httpx.Client(timeout=30, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def anon(client_factory: Callable[[], httpx.Client]) -> httpx.Client:
    return client_factory()


@pytest.fixture
def login(client_factory: Callable[[], httpx.Client]) -> Callable[[str, str], httpx.Client]:
    """Return a client signed in as `username`."""

    def sign_in(username: str, password: str) -> httpx.Client:
        client = client_factory()
        response = client.post("/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return client

    return sign_in


@pytest.fixture
def admin(login: Callable[[str, str], httpx.Client]) -> httpx.Client:
    return login("admin", "admin123")


@pytest.fixture
def demo(login: Callable[[str, str], httpx.Client]) -> httpx.Client:
    return login("demo", "demo123")


@pytest.fixture
def make_user(admin: httpx.Client, login: Callable[[str, str], httpx.Client]):
    """Create a user through the API (as admin) and return (record, signed-in client)."""
    from tests.support.factories import UserFactory

    return UserFactory(admin, login)


@pytest.fixture
def callers(admin: httpx.Client, make_user: Any) -> Any:
    """Make users holding exactly the permissions a test names (`Callers`)."""
    from tests.support.callers import Callers

    return Callers(admin, make_user)


@pytest.fixture
def many_tags(live: Backend) -> int:
    """Insert COUNT_CAP + 20 tags owned by admin straight into the database; return how
    many tags there are in all."""
    engine = create_sync_engine(live.settings)
    try:
        with engine.begin() as connection:
            admin_id = connection.scalar(select(User.id).where(User.username == "admin"))
            rows = [
                {"name": f"bulk-{n:05}", "color": "#123456", "owner_user_id": admin_id}
                for n in range(COUNT_CAP + 20)
            ]
            connection.execute(insert(Tag), rows)
            return connection.scalar(select(func.count()).select_from(Tag)) or 0
    finally:
        engine.dispose()
