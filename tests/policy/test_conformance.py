"""The conformance corpus (`policy/conformance/`): each case on each backend, over HTTP as its
subject (list, `total`, GET, PUT, DELETE, creates) and in process (each action's SQL filter),
against what the case expects. A case fails whose expected lists are all empty or all every
row (and whose creates are not both allowed and refused): it could not tell a filter that
drops or keeps everything from a right one."""

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from app.core.decisions import row_filter
from app.core.enforcer import load_policy
from app.resources import REGISTRY
from tests.conftest import Backend
from tests.policy.conformance import PASSWORD, Case, body_of, load_cases, seed
from tests.policy.population import run
from tests.support import database, server

CASES = load_cases()
MIN_CASES = 40


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= MIN_CASES, len(CASES)
    assert len({case.name for case in CASES}) == len(CASES), "case names repeat"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case(live: Backend, case: Case) -> None:
    seeded = seed(live.settings, case)
    keys, ids = seeded.keys, seeded.ids
    assert_informative(case, keys)
    assert set(case.update) <= set(case.read) and set(case.delete) <= set(case.read)
    key_of = {ids[key]: key for key in keys}
    res = REGISTRY[case.path]

    # In process: each action's SQL filter, against the expected decisions.
    policy = run(load_policy(live.settings))
    engine = database._engine(live.settings)
    allowed = {}
    for action in ("read", "update", "delete"):
        where = row_filter(
            policy, seeded.subject, case.model, action, res.model, username="subject", now=case.when
        )
        statement = select(res.model.__table__.c.id)
        if where is not None:
            statement = statement.where(where)
        with engine.connect() as connection:
            found = {key_of[row_id] for row_id in connection.scalars(statement) if row_id in key_of}
        allowed[action] = found
    assert allowed["read"] == set(case.read), "the read filter"
    if not case.put:
        assert allowed["update"] & allowed["read"] == set(case.update), "the update filter"
    assert allowed["delete"] & allowed["read"] == set(case.delete) or case.put, "the delete filter"

    app = server.APPS[live.base_url]
    app.state.policy.clock = lambda: case.when
    try:
        with httpx.Client(base_url=f"{live.base_url}/api/v1", timeout=30) as client:
            signed_in = client.post(
                "/auth/login", json={"username": "subject", "password": PASSWORD}
            )
            assert signed_in.status_code == 200, signed_in.text
            check_over_http(client, case, ids, keys)
    finally:
        app.state.policy.clock = lambda: datetime.now(UTC)


def assert_informative(case: Case, keys: list[str]) -> None:
    """Refuse a degenerate case: no expected list of rows (read, update, delete) is neither
    empty nor every row, and its creates are not both allowed and refused."""
    lists = (case.read, case.update, case.delete)
    telling = [action for action in lists if 0 < len(action) < len(keys)]
    outcomes = {item["status"] == 201 for item in case.create}
    assert case.read, "degenerate: the subject reads nothing"
    assert telling or outcomes == {True, False}, "degenerate: every list is empty or everything"


def check_over_http(client: httpx.Client, case: Case, ids: dict[str, int], keys: list[str]) -> None:
    key_of = {ids[key]: key for key in keys}
    listed = client.get(f"/{case.path}", params={"limit": 200})
    assert listed.status_code == 200, listed.text
    page = listed.json()
    shown = [key_of.get(item["id"], f"#{item['id']}") for item in page["items"]]
    assert sorted(shown) == sorted(case.read), "the list"
    assert page["total"] == len(case.read), "the total"
    for key in keys:
        got = client.get(f"/{case.path}/{ids[key]}").status_code
        assert got == (200 if key in case.read else 404), f"GET {key}"
    body = body_of(case, case.put, ids)
    for key in keys:
        response = client.put(f"/{case.path}/{ids[key]}", json=body)
        expected = 200 if key in case.update else 403 if key in case.read else 404
        assert response.status_code == expected, f"PUT {key}: {response.text}"
    for key in keys:
        response = client.delete(f"/{case.path}/{ids[key]}")
        expected = 204 if key in case.delete else 403 if key in case.read else 404
        assert response.status_code == expected, f"DELETE {key}: {response.text}"
    for number, item in enumerate(case.create):
        response = client.post(f"/{case.path}", json=body_of(case, item["body"], ids))
        assert response.status_code == item["status"], f"create {number}: {response.text}"
