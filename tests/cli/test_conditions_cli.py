"""The `policy` command and conditions: `check --record` evaluates the condition on that
record and prints each step with its values; `who-can` and `report` name conditions; `lint`
reports conditions that no longer check, that nobody carries, and permissions carrying
another model's; `policy test` cases give a record's attributes and a fixed `now`."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from app.models import Condition
from tests.cli.conftest import PolicyRunner
from tests.conftest import Backend
from tests.support import database
from tests.support.callers import Callers


def create(client: httpx.Client, path: str, **fields: Any) -> dict[str, Any]:
    response = client.post(f"/{path}", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def carla(admin: httpx.Client, callers: Callers) -> dict[str, Any]:
    open_ = create(
        admin, "conditions", name="open", model="task", expression='record.status != "done"'
    )
    update_ = create(
        admin, "permissions", model="task", action="update", scope="own", condition_id=open_["id"]
    )
    plain = callers.permission_ids("task:read:own", "task:create:own", "project:read:all")
    role = create(admin, "roles", name="contractor", permission_ids=[*plain, update_["id"]])
    user, client = callers.make_user(roles=(role["name"],))
    project = create(admin, "projects", name="Site")
    mine = create(client, "tasks", title="mine", project_id=project["id"])
    done = create(client, "tasks", title="finished", project_id=project["id"])
    assert admin.put(f"/tasks/{done['id']}", json={"status": "done"}).status_code == 200
    return {"user": user, "mine": mine, "done": done, "condition": open_}


def test_check_on_a_record_prints_each_step_with_values(
    policy: PolicyRunner, carla: dict[str, Any]
) -> None:
    name = carla["user"]["username"]
    denied = policy("check", name, "task:update", "--record", str(carla["done"]["id"]))
    assert denied.code == 1, denied.out + denied.err
    assert denied.out.startswith(f"DENY: {name} task:update on record")
    assert (
        'update: task:update:own[open] (via role contractor): status is "done", '
        'the condition needs status != "done"'
    ) in denied.out
    allowed = policy("check", name, "task:update", "--record", str(carla["mine"]["id"]))
    assert allowed.code == 0, allowed.out
    assert "update: task:update:own[open] (via role contractor): allows" in allowed.out
    assert "via role contractor: task:update:own[open]" in allowed.out
    found = policy("check", name, "task:update", "--record", str(carla["done"]["id"]), "--json")
    assert found.json()["allowed"] is False and found.json()["steps"]


def test_who_can_and_report_name_conditions(policy: PolicyRunner, carla: dict[str, Any]) -> None:
    who = policy("who-can", "task:update")
    assert who.code == 0 and "own[open]" in who.out, who.out
    report = policy("report", "--format", "csv")
    assert report.code == 0 and "task:update:own[open]" in report.out, report.out


def test_lint_reports_conditions(
    policy: PolicyRunner, carla: dict[str, Any], admin: httpx.Client, live: Backend
) -> None:
    assert "condition task.open" not in policy("lint").out
    create(admin, "conditions", name="spare", model="task", expression="record.priority > 3")
    unused = policy("lint")
    assert "warning: condition task.spare is carried by no permission" in unused.out
    assert unused.code == 0, unused.out
    # A column gone from the schema (here: an expression edited by hand) no longer checks.
    with database._engine(live.settings).begin() as connection:
        connection.execute(
            update(Condition).where(Condition.name == "spare").values(expression="record.gone == 1")
        )
        connection.execute(
            update(Condition).where(Condition.name == "open").values(model="project")
        )
    broken = policy("lint")
    assert broken.code == 1, broken.out
    assert "error: condition task.spare no longer checks: unknown column `gone`" in broken.out
    assert "error: permission task:update:own[open] carries a condition of project" in broken.out


def test_policy_test_cases_give_attributes_and_now(
    policy: PolicyRunner, carla: dict[str, Any], tmp_path: Path
) -> None:
    cases = tmp_path / "cases.toml"
    cases.write_text(
        """
[[case]]
name = "an open task of theirs"
role = "contractor"
permission = "task:update"
record = "owner"
attributes = { status = "todo" }
expect = "allow"

[[case]]
name = "a done one"
role = "contractor"
permission = "task:update"
record = "owner"
attributes = { status = "done" }
expect = "deny"

[[case]]
name = "someone else's"
role = "contractor"
permission = "task:update"
record = "stranger"
attributes = { status = "todo" }
expect = "deny"
"""
    )
    result = policy("test", str(cases))
    assert result.code == 0, result.out
    assert "3 passed, 0 failed" in result.out
    wrong = cases.read_text().replace(
        'status = "done" }\nexpect = "deny"', 'status = "done" }\nexpect = "allow"'
    )
    cases.write_text(wrong)
    failed = policy("test", str(cases))
    assert failed.code == 1 and "FAIL case 2 (a done one)" in failed.out, failed.out


def test_policy_test_cases_at_a_fixed_now(
    policy: PolicyRunner, admin: httpx.Client, callers: Callers, tmp_path: Path
) -> None:
    due = create(admin, "conditions", name="due", model="task", expression="record.due_at >= now")
    read = create(
        admin, "permissions", model="task", action="read", scope="all", condition_id=due["id"]
    )
    create(admin, "roles", name="planner", permission_ids=[read["id"]])
    cases = tmp_path / "cases.toml"
    cases.write_text(
        """
[[case]]
role = "planner"
permission = "task:read"
attributes = { due_at = 2026-01-31T00:00:00Z }
now = 2026-01-31T00:00:00Z
expect = "allow"

[[case]]
role = "planner"
permission = "task:read"
attributes = { due_at = 2026-01-31T00:00:00Z }
now = 2026-01-31T00:00:01Z
expect = "deny"
"""
    )
    result = policy("test", str(cases))
    assert result.code == 0, result.out
