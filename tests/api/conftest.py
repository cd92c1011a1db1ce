"""Fixtures shared by the API tests: callers holding chosen permissions, and records."""

import httpx
import pytest

from tests.support.callers import Callers
from tests.support.factories import UserFactory
from tests.support.records import Records


@pytest.fixture
def callers(admin: httpx.Client, make_user: UserFactory) -> Callers:
    return Callers(admin, make_user)


@pytest.fixture
def records(admin: httpx.Client) -> Records:
    return Records(admin)
