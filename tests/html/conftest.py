"""Fixtures of the HTML tests: browsers at the server root that follow no redirects."""

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.conftest import Backend, client_pool
from tests.html.site import location, sign_in
from tests.support.checks import fail_on_server_error
from tests.support.records import Records

Browser = httpx.Client


@pytest.fixture
def browser_factory(live: Backend) -> Iterator[Callable[[], Browser]]:
    """Make browsers: clients of the pages, each with its own cookies, failing on any 5xx."""
    yield from client_pool(
        base_url=live.base_url,
        follow_redirects=False,
        event_hooks={"response": [fail_on_server_error]},
    )


@pytest.fixture
def browser(browser_factory: Callable[[], Browser]) -> Browser:
    """An anonymous visitor."""
    return browser_factory()


@pytest.fixture
def signed_in(browser_factory: Callable[[], Browser]) -> Callable[[str, str], Browser]:
    """Return a browser signed in through the login form."""

    def make(username: str, password: str) -> Browser:
        client = browser_factory()
        response = sign_in(client, username, password)
        assert location(response) == "/dashboard", response.text[:300]
        return client

    return make


@pytest.fixture
def admin_browser(signed_in: Callable[[str, str], Browser]) -> Browser:
    return signed_in("admin", "admin123")


@pytest.fixture
def demo_browser(signed_in: Callable[[str, str], Browser]) -> Browser:
    return signed_in("demo", "demo123")


@pytest.fixture
def records(admin: httpx.Client) -> Records:
    """Make records through the JSON API, as admin."""
    return Records(admin)
