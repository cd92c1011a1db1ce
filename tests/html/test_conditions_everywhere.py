"""Everything obeys a condition: for a user who reads the tasks assigned to them (and deletes
those not done), the API list and its total, keyset pages, the CSV export, the dashboard's
count, the pickers and filter choices that name tasks, and bulk delete (each row decided) all
show and act on exactly the tasks a single request would be allowed."""

import csv
import io
from collections.abc import Callable
from typing import Any

import httpx

from tests.html.conftest import Browser
from tests.html.dom import Page
from tests.html.site import csrf_token, page, submit
from tests.support.callers import Callers

PASSWORD = "tidal-parsnip-42"


def create(client: httpx.Client, path: str, **fields: Any) -> dict[str, Any]:
    response = client.post(f"/{path}", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


def test_lists_counts_pickers_exports_and_bulk_deletes_obey(
    admin: httpx.Client, callers: Callers, signed_in: Callable[[str, str], Browser]
) -> None:
    assigned = create(
        admin,
        "conditions",
        name="assigned",
        model="task",
        expression="record.assignee_id == subject.id",
    )
    open_ = create(
        admin, "conditions", name="open", model="task", expression='record.status != "done"'
    )
    read = create(
        admin, "permissions", model="task", action="read", scope="all", condition_id=assigned["id"]
    )
    delete = create(
        admin, "permissions", model="task", action="delete", scope="all", condition_id=open_["id"]
    )
    plain = callers.permission_ids("comment:create:own", "comment:read:own")
    role = create(admin, "roles", name="helpers", permission_ids=[*plain, read["id"], delete["id"]])
    user, client = callers.make_user(roles=(role["name"],), password=PASSWORD)
    project = create(admin, "projects", name="Site")
    tasks = {
        name: create(
            admin,
            "tasks",
            title=name,
            project_id=project["id"],
            assignee_id=user["id"] if name.startswith("mine") else None,
            status="done" if name.endswith("done") else "todo",
        )
        for name in ("mine-1", "mine-2", "mine-3-done", "other-1", "other-2")
    }
    mine = {tasks[name]["id"] for name in ("mine-1", "mine-2", "mine-3-done")}

    listed = client.get("/tasks").json()
    assert {item["id"] for item in listed["items"]} == mine and listed["total"] == 3
    # Keyset pages, one task at a time.
    seen, params = [], {"limit": 1, "sort": "id"}
    while True:
        found = client.get("/tasks", params=params).json()
        seen += [item["id"] for item in found["items"]]
        if not found.get("next_cursor"):
            break
        params = {"limit": 1, "sort": "id", "cursor": found["next_cursor"]}
    assert sorted(seen) == sorted(mine)
    exported = client.get("/tasks", params={"format": "csv"})
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {int(row["id"]) for row in rows} == mine
    for task in tasks.values():
        assert client.get(f"/tasks/{task['id']}").status_code == (
            200 if task["id"] in mine else 404
        )

    browser = signed_in(user["username"], PASSWORD)
    dashboard = page(browser, "/dashboard")
    card = next(c for c in dashboard.root.find_all("li", class_="card") if "Tasks" in c.text())
    assert "3 visible" in card.text()
    # The new comment form's task picker, and the comments list's filter by task, name
    # only the tasks the user may read.
    form = page(browser, "/comments/new").form()
    offered = {value for value, _ in form.control("task_id").options() if value}
    assert offered == {str(task_id) for task_id in mine}
    # Bulk delete: every row decided; a done task of theirs and others' are refused.
    ids = [str(task["id"]) for task in tasks.values()]
    token = csrf_token(browser, "/tasks")
    preview = submit(browser, "/tasks/bulk-delete", {"ids": ids}, token)
    assert preview.status_code == 200, preview.text[:300]
    shown = Page(preview).root.text()
    assert "mine-1" in shown and "mine-2" in shown and "other-1" not in shown
    confirm = {"ids": ids, "confirm": ["1"]}
    submit(browser, "/tasks/bulk-delete", confirm, csrf_token(browser, "/tasks"))
    left = {task["title"] for task in admin.get("/tasks").json()["items"]}
    assert left == {"mine-3-done", "other-1", "other-2"}
