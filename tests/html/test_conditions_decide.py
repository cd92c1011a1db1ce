"""Pages obey conditions: a record page shows Edit and Delete only when that record allows
them, and a page refused for one record (403) links to the explanation, which says why in
words with the record's values."""

from collections.abc import Callable
from typing import Any

import httpx

from tests.html.conftest import Browser
from tests.html.site import page
from tests.support.callers import Callers


def create(client: httpx.Client, path: str, **fields: Any) -> dict[str, Any]:
    response = client.post(f"/{path}", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


def test_buttons_follow_the_condition_and_a_403_explains(
    admin: httpx.Client,
    callers: Callers,
    signed_in: Callable[[str, str], Browser],
) -> None:
    open_ = create(
        admin, "conditions", name="open", model="task", expression='record.status != "done"'
    )
    grants = [
        create(
            admin, "permissions", model="task", action=action, scope="own", condition_id=open_["id"]
        )
        for action in ("update", "delete")
    ]
    plain = callers.permission_ids("task:read:own", "task:create:own", "project:read:all")
    role = create(
        admin, "roles", name="contractors", permission_ids=plain + [g["id"] for g in grants]
    )
    user, client = callers.make_user(roles=(role["name"],), password="tidal-parsnip-42")
    project = create(admin, "projects", name="Site")
    mine = create(client, "tasks", title="mine", project_id=project["id"])
    done = create(client, "tasks", title="finished", project_id=project["id"])
    assert admin.put(f"/tasks/{done['id']}", json={"status": "done"}).status_code == 200
    browser = signed_in(user["username"], "tidal-parsnip-42")

    def buttons(task: dict[str, Any]) -> set[str]:
        shown = page(browser, f"/tasks/{task['id']}").root.find("main")
        assert shown is not None
        found = {a.text() for a in shown.find_all("a", class_="button")}
        found |= {b.text() for b in shown.find_all("button")}
        return {text for text in found if text in ("Edit", "Delete")}

    assert buttons(mine) == {"Edit", "Delete"}
    assert buttons(done) == set()

    refused = page(browser, f"/tasks/{done['id']}/edit", status=403)
    link = next(a for a in refused.root.find_all("a") if a.text() == "Why is this not allowed?")
    assert link.attrs["href"] == f"/explain?resource=tasks&action=update&record_id={done['id']}"
    explained = page(browser, link.attrs["href"])
    text = explained.root.text()
    assert "not allowed" in explained.heading
    assert "task:update:own[open]" in text and "from the role contractors" in text
    assert 'status is "done", the condition needs status != "done"' in text
    page(browser, f"/explain?resource=tasks&action=update&record_id={mine['id']}")
    page(browser, "/explain?resource=tasks&action=fly&record_id=1", status=422)
