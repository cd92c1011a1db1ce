"""Fixtures shared by the API tests: callers holding chosen permissions, records, 5xx guard."""

from collections.abc import Callable

import httpx
import pytest

from tests.support.checks import guarded
from tests.support.records import Records

NO_SERVER_ERRORS = "no_server_errors"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{NO_SERVER_ERRORS}: every API client of the test fails it on any 5xx"
    )


@pytest.fixture
def client_factory(
    client_factory: Callable[[], httpx.Client], request: pytest.FixtureRequest
) -> Callable[[], httpx.Client]:
    """Make API clients; under the `no_server_errors` marker, each fails the test on any 5xx."""
    if request.node.get_closest_marker(NO_SERVER_ERRORS) is None:
        return client_factory
    return guarded(client_factory)


@pytest.fixture
def records(admin: httpx.Client) -> Records:
    return Records(admin)
