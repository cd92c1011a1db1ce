"""What one request costs on its way through: statements, policy look-ups and decisions.

The real app in-process over ASGI on each backend; SQLAlchemy's events count statements,
and the policy store and engine count look-ups and decisions (`lookups`, `decided`).
"""

import asyncio
import re
from collections import Counter
from typing import Any

import httpx

from tests.conftest import Backend
from tests.support.factories import unique
from tests.support.records import Records
from tests.support.wire import Wire, app_client

PASSWORD = "tidal-parsnip-42"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TABLE = re.compile(r"\bFROM\s+\"?(\w+)", re.IGNORECASE)


def tables_read(wire: Wire) -> Counter[str]:
    """How many SELECT statements read from each table (by their first FROM)."""
    found: Counter[str] = Counter()
    for sql in wire.sql:
        if sql.lstrip().upper().startswith("SELECT"):
            match = TABLE.search(sql)
            found[match.group(1) if match else "?"] += 1
    return found


class Costs:
    """The statements, policy look-ups and decisions of the requests made inside it."""

    def __init__(self, app: Any, wire: Wire) -> None:
        self.app, self.wire = app, wire

    def __enter__(self) -> "Costs":
        self.wire.sent.clear()
        self.wire.sql.clear()
        self.lookups = self.app.state.policy.lookups
        self.decided = self.app.state.policy.current.decided
        return self

    def __exit__(self, *_: object) -> None:
        self.lookups = self.app.state.policy.lookups - self.lookups
        self.decided = self.app.state.policy.current.decided - self.decided
        self.tables = tables_read(self.wire)


def created(admin: httpx.Client, path: str, **fields: Any) -> dict[str, Any]:
    response = admin.post(f"/{path}", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


async def sign_in(client: httpx.AsyncClient) -> None:
    body = {"username": "admin", "password": "admin123"}
    assert (await client.post("/api/v1/auth/login", json=body)).status_code == 200


def test_an_authorized_read_looks_the_policy_up_once_and_decides_once(
    live: Backend, records: Records
) -> None:
    task = records.create("tasks", tag_ids=[records.create("tags")["id"]])

    async def scenario() -> None:
        async with app_client(live.settings) as (client, wire, app):
            await sign_in(client)
            assert (await client.get(f"/api/v1/tasks/{task['id']}")).status_code == 200
            with Costs(app, wire) as costs:
                response = await client.get(f"/api/v1/tasks/{task['id']}")
            assert response.status_code == 200
            # the caller, the policy revision and the task in one statement
            assert (len(wire.sent), costs.lookups, costs.decided) == (1, 1, 1)

    asyncio.run(scenario())


def test_a_form_create_reads_each_related_table_once(live: Backend, records: Records) -> None:
    """`POST /tasks` from the form: one policy look-up, one decision on the new task (the
    records it names are each decided once, whether it may name them), each table read
    once."""
    project = records.create("projects")
    tags = [records.create("tags")["id"] for _ in range(2)]

    async def scenario() -> None:
        async with app_client(live.settings) as (client, wire, app):
            await sign_in(client)
            form = (await client.get("/tasks/new")).text
            token = CSRF.search(form).group(1)  # type: ignore[union-attr]
            me = (await client.get("/api/v1/auth/me")).json()
            fields = {
                "csrf_token": token,
                "title": "Counted",
                "status": "todo",
                "priority": "2",
                "project_id": str(project["id"]),
                "assignee_id": str(me["id"]),
                "tag_ids": [str(t) for t in tags],
            }
            with Costs(app, wire) as costs:
                response = await client.post("/tasks", data=fields)
            assert response.status_code == 303, response.text
            # the task as it would be, then whether the caller may name each record it
            # names: the project, the assignee and two tags
            assert (costs.lookups, costs.decided) == (1, 1 + 4)
            assert {"projects", "users", "tags"} <= costs.tables.keys()
            assert max(costs.tables.values()) == 1, costs.tables

    asyncio.run(scenario())


def test_a_read_by_id_reads_what_a_condition_reads_in_the_same_statement(
    live: Backend, admin: httpx.Client, make_user: Any, records: Records
) -> None:
    """A grant whose condition reads the task's project: the caller, the policy revision,
    the task and its project come in one statement, for a session cookie and for a bearer
    token alike, and the project decides (a task of a project not active is 404)."""
    condition = created(
        admin,
        "conditions",
        name=unique("live"),
        model="task",
        expression='record.project.status == "active"',
    )
    grant = created(
        admin, "permissions", model="task", action="read", scope="all", condition_id=condition["id"]
    )
    role = created(admin, "roles", name=unique("readers"), permission_ids=[grant["id"]])
    user, _ = make_user(roles=(role["name"],), password=PASSWORD)
    active = records.create("projects", status="active")
    planned = records.create("projects", status="planned")
    shown = records.create("tasks", project_id=active["id"])
    hidden = records.create("tasks", project_id=planned["id"])
    credentials = {"username": user["username"], "password": PASSWORD}

    async def scenario() -> None:
        async with app_client(live.settings) as (client, wire, app):
            assert (await client.post("/api/v1/auth/login", json=credentials)).status_code == 200
            token = (await client.post("/api/v1/auth/token", json=credentials)).json()
            bearer = {"Authorization": f"Bearer {token['access_token']}"}
            for headers in ({}, bearer):
                with Costs(app, wire):
                    response = await client.get(f"/api/v1/tasks/{shown['id']}", headers=headers)
                assert response.status_code == 200, response.text
                assert response.json()["id"] == shown["id"]
                assert len(wire.sent) == 1, wire.sql
                answer = await client.get(f"/api/v1/tasks/{hidden['id']}", headers=headers)
                assert answer.status_code == 404, answer.text
                missing = await client.get("/api/v1/tasks/2147483647", headers=headers)
                assert missing.status_code == 404

    asyncio.run(scenario())
