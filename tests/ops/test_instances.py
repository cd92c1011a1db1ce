"""Two app processes on one database: a policy change made through one reaches the other.

Each instance is its own `uvicorn` process (as on two machines behind nginx). On
PostgreSQL the other instance learns of the change through `LISTEN/NOTIFY` (its periodic
check is set to a minute here, so only the notification can be fast); on SQLite, by the
periodic check of the stored revision. `/readyz` names the revision a worker enforces, so
the test sees the other instance move on without sending it a request that would make it
look.
"""

import time
from pathlib import Path

import httpx
import pytest

from tests.support.catalog import SERVER_URL
from tests.support.instances import (
    app_environment,
    customer_reads,
    database_url,
    init_database,
    instance,
    revision,
    sign_in,
    two_instances,
)

BACKENDS = ["sqlite", "postgresql"] if SERVER_URL else ["sqlite"]
CHANGES = 5
# How soon the other instance must enforce a change: PostgreSQL's notification arrives in
# milliseconds; SQLite's check runs every `POLL` seconds (`tests/support/instances.py`).
WITHIN = 1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_change_through_one_instance_reaches_the_other(backend: str, tmp_path: Path) -> None:
    """Revoke and restore a role's permission through A, CHANGES times: each time B moves to
    the new revision within WITHIN seconds with no request of its own, then enforces it."""
    with two_instances(backend, tmp_path) as (a, b):
        admin = sign_in(a, "admin", "admin123")
        demo = sign_in(b, "demo", "demo123")
        role, kept = customer_reads(admin)
        assert demo.get("/customers").status_code == 200

        delays = []
        for change in range(CHANGES):
            ids = kept if change % 2 == 0 else role["permission_ids"]
            before = revision(b)
            started = time.monotonic()
            response = admin.put(f"/roles/{role['id']}", json={"permission_ids": ids})
            assert response.status_code == 200, response.text
            while revision(b) <= before:
                assert time.monotonic() - started < 10, "the change never arrived"
                time.sleep(0.01)
            delays.append(time.monotonic() - started)
            expected = 403 if change % 2 == 0 else 200
            assert demo.get("/customers").status_code == expected
        assert max(delays) < WITHIN, delays


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_changed_condition_through_one_instance_reaches_the_other(
    backend: str, tmp_path: Path
) -> None:
    """A condition's expression changed through A, CHANGES times: each time B moves to the
    new revision within WITHIN seconds with no request of its own, then decides by it."""
    with two_instances(backend, tmp_path) as (a, b):
        admin = sign_in(a, "admin", "admin123")
        body = {"name": "named", "model": "tag", "expression": 'record.name == "one"'}
        condition = admin.post("/conditions", json=body).json()
        grant = {
            "model": "tag",
            "action": "read",
            "scope": "all",
            "condition_id": condition["id"],
        }
        permission = admin.post("/permissions", json=grant).json()
        role = admin.post("/roles", json={"name": "taggers", "permission_ids": [permission["id"]]})
        user = {
            "username": "tagger",
            "email": "tagger@example.com",
            "password": "tidal-parsnip-42",
        }
        assert (
            admin.post("/users", json=user | {"role_ids": [role.json()["id"]]}).status_code == 201
        )
        for name in ("one", "two"):
            assert admin.post("/tags", json={"name": name}).status_code == 201
        tagger = sign_in(b, "tagger", "tidal-parsnip-42")
        assert [t["name"] for t in tagger.get("/tags").json()["items"]] == ["one"]
        delays = []
        for change in range(CHANGES):
            wanted = "two" if change % 2 == 0 else "one"
            before = revision(b)
            started = time.monotonic()
            expression = {"expression": f'record.name == "{wanted}"'}
            response = admin.put(f"/conditions/{condition['id']}", json=expression)
            assert response.status_code == 200, response.text
            while revision(b) <= before:
                assert time.monotonic() - started < 10, "the change never arrived"
                time.sleep(0.01)
            delays.append(time.monotonic() - started)
            assert [t["name"] for t in tagger.get("/tags").json()["items"]] == [wanted]
        assert max(delays) < WITHIN, delays


@pytest.mark.parametrize("backend", BACKENDS)
def test_failed_sign_ins_count_across_instances(backend: str, tmp_path: Path) -> None:
    """Failures through either process count together: the fifth blocks the account at this
    address on both, until the delay has passed."""
    with database_url(backend, tmp_path) as url:
        env = app_environment(url)
        init_database(env)
        with instance(env, tmp_path / "throttle.log") as a, instance(env, tmp_path / "b.log") as b:
            wrong = {"username": "demo", "password": "not-the-password"}
            right = {"username": "demo", "password": "demo123"}
            statuses = [
                httpx.post(f"{base}/api/v1/auth/login", json=wrong, timeout=30).status_code
                for base in (a, b, a, b, a)
            ]
            assert statuses == [401] * 5
            for base in (a, b):
                refused = httpx.post(f"{base}/api/v1/auth/login", json=right, timeout=30)
                assert refused.status_code == 429
                assert refused.headers["Retry-After"] == "2"
