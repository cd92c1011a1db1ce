"""`GET /metrics`: who may scrape it, and what it counts.

The real app in-process over ASGI on each backend. Metrics live in the process, shared by
every app the tests build in it, so each test compares a scrape before and after what it
does, on labels only it touches.
"""

import asyncio
import uuid
from collections.abc import Iterable
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Backend
from tests.support.factories import unique
from tests.support.records import Records
from tests.support.wire import app_client

ADMIN = {"username": "admin", "password": "admin123"}
PASSWORD = "tidal-parsnip-42"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a scrape: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def token_of(client: httpx.AsyncClient, credentials: dict[str, str]) -> dict[str, str]:
    answer = await client.post("/api/v1/auth/token", json=credentials)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def scrape(client: httpx.AsyncClient, headers: dict[str, str]) -> Samples:
    answer = await client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(answer.text)


def run(live: Backend, scenario: Any) -> None:
    async def go() -> None:
        async with app_client(live.settings) as (client, _wire, _app):
            await scenario(client)

    asyncio.run(go())


def no_metric_in(bodies: Iterable[str]) -> None:
    for body in bodies:
        assert "crud_" not in body and "# HELP" not in body, body


def test_only_a_bearer_token_holding_the_permission_reads_the_metrics(
    live: Backend, make_user: Any
) -> None:
    user, _ = make_user(password=PASSWORD)  # the `user` role: no metrics:read:all

    async def scenario(client: httpx.AsyncClient) -> None:
        refused = []
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
            answer = await client.get("/metrics", headers=headers)
            assert answer.status_code == 401, answer.text
            assert answer.headers["www-authenticate"] == "Bearer"
            refused.append(answer.text)
        # A signed-in browser's cookie is not a token.
        assert (await client.post("/api/v1/auth/login", json=ADMIN)).status_code == 200
        cookie = await client.get("/metrics")
        assert cookie.status_code == 401
        client.cookies.clear()
        plain = await token_of(client, {"username": user["username"], "password": PASSWORD})
        forbidden = await client.get("/metrics", headers=plain)
        assert forbidden.status_code == 403, forbidden.text
        assert "metrics:read:all" in forbidden.json()["detail"]
        no_metric_in([*refused, cookie.text, forbidden.text])
        found = await scrape(client, await token_of(client, ADMIN))
        assert value(found, "crud_build_info", version="0.1.0", commit=commit_of(found)) == 1
        assert value(found, "crud_db_pool_size") >= 1
        assert value(found, "crud_policy_revision") >= 1

    run(live, scenario)


def commit_of(found: Samples) -> str:
    (labels,) = [dict(key[1]) for key in found if key[0] == "crud_build_info"]
    return labels["commit"]


def test_requests_decisions_and_audit_entries_are_counted_by_template(
    live: Backend, make_user: Any, records: Records
) -> None:
    """Two reads of one task, a refused list and a write: counted under the route's
    template, the decision's model, action and outcome; no label holds an id."""
    user, _ = make_user(password=PASSWORD)
    task = records.create("tasks")
    path = f"/api/v1/tasks/{task['id']}"

    async def scenario(client: httpx.AsyncClient) -> None:
        admin = await token_of(client, ADMIN)
        plain = await token_of(client, {"username": user["username"], "password": PASSWORD})
        before = await scrape(client, admin)
        for _ in range(2):
            assert (await client.get(path, headers=admin)).status_code == 200
        assert (await client.get("/api/v1/audit", headers=plain)).status_code == 403
        made = await client.post("/api/v1/tags", json={"name": unique("t")}, headers=plain)
        assert made.status_code == 201, made.text
        after = await scrape(client, admin)

        def grew(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        route = {"method": "GET", "route": "/api/v1/tasks/{id}", "status": "200"}
        assert grew("crud_http_requests_total", **route) == 2
        assert grew("crud_http_request_duration_seconds_count", **route_of(route)) == 2
        assert grew("crud_http_requests_total", method="POST", route="/api/v1/tags", status="201")
        assert grew("crud_authz_decisions_total", model="task", action="read", outcome="allowed")
        assert grew("crud_authz_decisions_total", model="tag", action="create", outcome="allowed")
        assert grew("crud_audit_entries_total") >= 1
        for name, labels in after:
            assert all(f"/{task['id']}" not in v for _, v in labels), (name, labels)

    run(live, scenario)


def route_of(labels: dict[str, str]) -> dict[str, str]:
    return {"method": labels["method"], "route": labels["route"]}


def test_a_denied_decision_and_sign_ins_are_counted(live: Backend, make_user: Any) -> None:
    user, _ = make_user(password=PASSWORD)
    credentials = {"username": user["username"], "password": PASSWORD}

    async def scenario(client: httpx.AsyncClient) -> None:
        admin = await token_of(client, ADMIN)
        before = await scrape(client, admin)
        plain = await token_of(client, credentials)  # a success, a token issued
        wrong = {"username": user["username"], "password": "not-the-password"}
        assert (await client.post("/api/v1/auth/login", json=wrong)).status_code == 401
        assert (await client.get("/api/v1/roles", headers=plain)).status_code == 403
        expired = {"Authorization": "Bearer " + "x" * 40}
        assert (await client.get("/api/v1/tasks", headers=expired)).status_code == 401
        after = await scrape(client, admin)

        def grew(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        assert grew("crud_authz_decisions_total", model="role", action="read", outcome="denied")
        assert grew("crud_sign_ins_total", outcome="success") >= 1
        assert grew("crud_sign_ins_total", outcome="failure") >= 1
        assert grew("crud_bearer_tokens_total", outcome="issued") >= 1
        assert grew("crud_bearer_tokens_total", outcome="refused") >= 1
        hits = grew("crud_authz_decision_cache_total", result="hit")
        misses = grew("crud_authz_decision_cache_total", result="miss")
        assert hits + misses >= 1

    run(live, scenario)


def test_a_thousand_paths_make_no_new_series(live: Backend) -> None:
    """Paths no route matches are one `unmatched` series; ids in a route's path are one
    template: 1,000 distinct paths add at most the few series their statuses make."""

    async def scenario(client: httpx.AsyncClient) -> None:
        admin = await token_of(client, ADMIN)
        before = await scrape(client, admin)
        sent = []
        for n in range(500):
            for path in (f"/no-such-{uuid.uuid4().hex}", f"/api/v1/tasks/{10**8 + n}"):
                sent.append(path)
                answer = await client.get(path, headers=admin)
                assert answer.status_code == 404
        after = await scrape(client, admin)
        new = set(after) - set(before)
        # At most the series of two routes' counts and latency buckets, however many paths.
        assert len(new) < 50, sorted(new)
        for _, pairs in new:
            assert dict(pairs).get("route", "unmatched") in ("unmatched", "/api/v1/tasks/{id}")
        labels = {v for _, pairs in after for _, v in pairs}
        assert not labels & set(sent)
        assert all("no-such" not in v and str(10**8) not in v for v in labels)
        grew = value(
            after, "crud_http_requests_total", method="GET", route="unmatched", status="404"
        ) - value(before, "crud_http_requests_total", method="GET", route="unmatched", status="404")
        assert grew == 500

    run(live, scenario)
