"""Concurrent requests on one record: one delete wins, many-to-many updates never clash."""

import random
from collections.abc import Callable

import httpx
import pytest

from tests.support.auth import token_of
from tests.support.concurrency import at_once

pytestmark = pytest.mark.no_server_errors

RACERS = 10


def clients_of(
    admin: httpx.Client, client_factory: Callable[[], httpx.Client], count: int
) -> list[httpx.Client]:
    """Clients sharing the admin's session, one per thread."""
    clients = []
    for _ in range(count):
        client = client_factory()
        client.cookies.set("session_id", token_of(admin))
        clients.append(client)
    return clients


@pytest.mark.parametrize("path", ["tasks", "tags", "roles", "groups"])
def test_concurrent_deletes_one_succeeds(
    admin: httpx.Client, client_factory: Callable[[], httpx.Client], path: str
) -> None:
    bodies = {
        "tasks": {"title": "Racing"},
        "tags": {"name": "racing"},
        "roles": {"name": "racing"},
        "groups": {"name": "racing"},
    }
    if path == "tasks":
        project = admin.post("/projects", json={"name": "Race track"}).json()["id"]
        bodies["tasks"]["project_id"] = project
    created = admin.post(f"/{path}", json=bodies[path])
    assert created.status_code == 201, created.text
    url = f"/{path}/{created.json()['id']}"
    clients = clients_of(admin, client_factory, RACERS)
    statuses = at_once(clients, lambda client, _: client.delete(url).status_code)
    assert statuses == [204] + [404] * (RACERS - 1)
    assert admin.get(url).status_code == 404


def test_concurrent_tag_updates_never_clash(
    admin: httpx.Client, client_factory: Callable[[], httpx.Client]
) -> None:
    project = admin.post("/projects", json={"name": "Tagged"}).json()["id"]
    tags = [admin.post("/tags", json={"name": f"t{i}"}).json()["id"] for i in range(5)]
    task = admin.post("/tasks", json={"title": "Many tags", "project_id": project}).json()["id"]
    rng = random.Random(7)
    wanted = [sorted(rng.sample(tags, rng.randint(0, len(tags)))) for _ in range(20)]
    clients = clients_of(admin, client_factory, len(wanted))

    def put(client: httpx.Client, index: int) -> int:
        answered = client.put(f"/tasks/{task}", json={"tag_ids": wanted[index]})
        assert answered.status_code == 200, answered.text
        assert answered.json()["tag_ids"] == wanted[index]
        return answered.status_code

    assert at_once(clients, put) == [200] * len(wanted)
    assert admin.get(f"/tasks/{task}").json()["tag_ids"] in wanted


def test_update_of_a_record_deleted_meanwhile_is_404(
    admin: httpx.Client, client_factory: Callable[[], httpx.Client]
) -> None:
    project = admin.post("/projects", json={"name": "Short lived"}).json()["id"]
    tag = admin.post("/tags", json={"name": "gone"}).json()["id"]
    task = admin.post("/tasks", json={"title": "Doomed", "project_id": project}).json()["id"]
    clients = clients_of(admin, client_factory, 8)

    def call(client: httpx.Client, index: int) -> int:
        if index == 0:
            return client.delete(f"/tasks/{task}").status_code
        return client.put(f"/tasks/{task}", json={"tag_ids": [tag]}).status_code

    statuses = at_once(clients, call)
    assert 204 in statuses
    assert set(statuses) <= {200, 204, 404}
