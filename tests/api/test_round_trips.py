"""The request path's round trips: what an authorized read sends to the database, and that
a policy change is built off the request path. The real app, in-process over ASGI, on the
test database of each backend, with SQLAlchemy's events counting what reaches the driver.
"""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from sqlalchemy import update

from app.core.database import create_sync_engine
from app.models import PolicyState
from tests.conftest import Backend
from tests.support.records import Records
from tests.support.wire import app_client


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> None:
    body = {"username": username, "password": password}
    response = await client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text


def test_an_authorized_read_is_one_statement_and_no_transaction(
    live: Backend, records: Records
) -> None:
    """Session, user, policy revision, the task and its tag ids in one statement; no BEGIN
    or COMMIT around it. A missing record costs no more; a write still runs in a
    transaction."""
    task = records.create("tasks", tag_ids=[records.create("tags")["id"]])

    async def scenario() -> None:
        async with app_client(live.settings) as (client, wire, _):
            await sign_in(client, "admin", "admin123")
            assert (await client.get(f"/api/v1/tasks/{task['id']}")).status_code == 200
            wire.sent.clear()
            response = await client.get(f"/api/v1/tasks/{task['id']}")
            assert response.status_code == 200 and response.json()["tag_ids"] == task["tag_ids"]
            assert wire.sent == ["SELECT"]
            wire.sent.clear()
            assert (await client.get("/api/v1/tasks/2147483647")).status_code == 404
            assert wire.sent == ["SELECT"]

            # A page asks for the user, the session and the enforcer: one lookup serves all.
            wire.sql.clear()
            response = await client.get("/tasks", headers={"Accept": "text/html"})
            assert response.status_code == 200
            assert sum("token_hash" in sql for sql in wire.sql) == 1

            wire.sent.clear()
            response = await client.put(f"/api/v1/tasks/{task['id']}", json={"priority": 2})
            assert response.status_code == 200, response.text
            assert wire.sent[0] == "BEGIN" and wire.sent[-1] == "COMMIT"
            assert "UPDATE" in wire.sent

    run(scenario)


def test_a_policy_change_is_in_force_before_the_next_request_needs_it(live: Backend) -> None:
    """After a change, the writer's process applies it to its policy in place before it
    answers (no load, no request asking for it; the periodic check is a minute away here),
    and the next request enforces it."""
    settings = live.settings.model_copy(update={"policy_poll_seconds": 60})

    async def scenario() -> None:
        async with app_client(settings) as (client, _, app):
            await sign_in(client, "admin", "admin123")
            store = app.state.policy
            engine = store.current
            assert engine is not None
            revision, builds = engine.revision, store.builds
            roles = (await client.get("/api/v1/roles", params={"q": "user"})).json()["items"]
            role = next(r for r in roles if r["name"] == "user")
            gone = (await client.get(f"/api/v1/permissions/{role['permission_ids'][0]}")).json()
            line = (
                f"r:{role['id']}",
                gone["model"],
                gone["action"],
                gone["scope"],
                "",
            )  # no condition
            assert line in engine.index.at["p"]
            kept = {"permission_ids": role["permission_ids"][1:]}
            response = await client.put(f"/api/v1/roles/{role['id']}", json=kept)
            assert response.status_code == 200, response.text
            assert store.current is engine and engine.revision == revision + 1
            assert (store.builds, store.catch_ups, engine.applied) == (builds, 0, 1)
            assert line not in engine.index.at["p"]
            me = await client.get("/api/v1/auth/me")
            assert me.status_code == 200 and store.current is engine

    run(scenario)


def test_a_revision_that_goes_down_is_followed(live: Backend) -> None:
    """A database restored from a backup holds an older revision: the watcher's periodic
    check rebuilds from what is stored rather than keeping a newer-numbered engine."""
    settings = live.settings.model_copy(update={"policy_poll_seconds": 0.05})
    engine = create_sync_engine(live.settings)

    def set_revision(value: int) -> None:
        with engine.begin() as connection:
            connection.execute(update(PolicyState).values(revision=value))

    async def scenario() -> None:
        async with app_client(settings) as (_, _, app):
            store = app.state.policy
            original = store.current.revision
            try:
                set_revision(original - 1)
                for _ in range(200):
                    if store.current.revision == original - 1:
                        break
                    await asyncio.sleep(0.01)
                assert store.current.revision == original - 1
            finally:
                set_revision(original)

    try:
        run(scenario)
    finally:
        engine.dispose()


def test_a_list_page_names_its_rows_in_a_fixed_number_of_statements(
    live: Backend, records: Records
) -> None:
    """The task list names each row's project, assignee, tags, owner and group: a page of
    rows sends no more statements than an empty page (the names come with the filters'
    choices, one statement for every table they offer); no statement per row."""
    demo = next(
        user for user in records.admin.get("/users").json()["items"] if user["username"] == "demo"
    )
    tag = records.create("tags")["id"]
    for number in range(30):
        records.create("tasks", title=f"named {number}", tag_ids=[tag], assignee_id=demo["id"])

    async def scenario() -> None:
        async with app_client(live.settings) as (client, wire, _):
            await sign_in(client, "admin", "admin123")
            counts = {}
            for query in ("q=no-such-task", "q=named", "q=named&limit=25"):
                wire.sent.clear()
                wire.sql.clear()
                response = await client.get(f"/tasks?{query}")
                assert response.status_code == 200
                counts[query] = len(wire.sent)
                if query == "q=named":
                    assert response.text.count(">demo</a>") == 30, "each assignee by name"
                    page = [sql for sql in wire.sql if "list_total" in sql]
                    assert len(page) == 1
            assert len(set(counts.values())) == 1, counts

    run(scenario)
