"""Conditions in a real browser: a role's matrix with a conditioned permission beside the
grid (added with the condition picker, previewed, saved); a record page whose Edit and Delete
follow the condition; a refused page's link to the explanation, which says why with values.
Screenshots `conditions` and `explain`."""

from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.browser.helpers import SQLITE_ONLY, api_create, arrive, screenshot, sign_in
from tests.support.callers import Callers

pytestmark = SQLITE_ONLY
PASSWORD = "tidal-parsnip-42"


def test_the_matrix_adds_a_conditioned_permission(page: Page, admin: httpx.Client) -> None:
    api_create(admin, "conditions", name="open", model="task", expression='record.status != "done"')
    role = api_create(admin, "roles", name="contractors", permission_ids=[])
    sign_in(page, "admin", "admin123")
    page.goto(f"/roles/{role['id']}")
    page.locator('input[name="grant"][value="task:read:own"]').check()
    page.get_by_label("Add the permission").select_option("task:update:own")
    page.get_by_label("under the condition").select_option(label="task:open")
    page.get_by_role("button", name="Save permissions").click()
    expect(page.locator("main")).to_contain_text("With these 2 permissions checked")
    page.get_by_role("button", name="Confirm and save").click()
    arrive(page, rf"/roles/{role['id']}$")
    conditioned = page.locator("fieldset.conditioned")
    expect(conditioned).to_contain_text("task:update:own[open]")
    conditioned.scroll_into_view_if_needed()
    screenshot(page, "conditions")
    held = admin.get(f"/roles/{role['id']}").json()["permissions"]
    assert sorted(held) == ["task:read:own", "task:update:own[open]"]


def test_buttons_follow_the_condition_and_a_refusal_explains(
    page: Page, admin: httpx.Client, callers: Callers
) -> None:
    condition = api_create(
        admin, "conditions", name="open", model="task", expression='record.status != "done"'
    )
    grants = [
        api_create(
            admin,
            "permissions",
            model="task",
            action=action,
            scope="own",
            condition_id=condition["id"],
        )["id"]
        for action in ("update", "delete")
    ]
    plain = callers.permission_ids("task:read:own", "task:create:own", "project:read:all")
    role = api_create(admin, "roles", name="contractors", permission_ids=plain + grants)
    user, client = callers.make_user(roles=(role["name"],), password=PASSWORD)
    project = api_create(admin, "projects", name="Site")
    mine: dict[str, Any] = api_create(
        client, "tasks", title="Pour concrete", project_id=project["id"]
    )
    done = api_create(client, "tasks", title="Dig foundations", project_id=project["id"])
    assert admin.put(f"/tasks/{done['id']}", json={"status": "done"}).status_code == 200

    sign_in(page, user["username"], PASSWORD)
    page.goto(f"/tasks/{mine['id']}")
    main = page.locator("main")
    expect(main.get_by_role("link", name="Edit")).to_have_count(1)
    expect(main.get_by_role("button", name="Delete")).to_have_count(1)
    page.goto(f"/tasks/{done['id']}")
    expect(main.get_by_role("link", name="Edit")).to_have_count(0)
    expect(main.get_by_role("button", name="Delete")).to_have_count(0)

    response = page.goto(f"/tasks/{done['id']}/edit")
    assert response is not None and response.status == 403
    page.get_by_role("link", name="Why is this not allowed?").click()
    arrive(page, rf"/explain\?resource=tasks&action=update&record_id={done['id']}$")
    expect(page.get_by_role("heading", level=1)).to_contain_text("not allowed")
    expect(main).to_contain_text('status is "done", the condition needs status != "done"')
    expect(main).to_contain_text("task:update:own[open]")
    screenshot(page, "explain")
