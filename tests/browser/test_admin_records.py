"""The admin in a real browser: every resource's pages (create, show, edit, delete), form errors."""

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.resources import RESOURCES, Resource
from app.schemas.examples import example_body, example_value, unwrap
from tests.browser.helpers import (
    SQLITE_ONLY,
    accept_next_dialog,
    api_create,
    api_find,
    arrive,
    expect_flash,
    screenshot,
    sign_in,
    value_of,
)
from tests.support.records import OWNER_FIELDS, required_parents

pytestmark = SQLITE_ONLY

LABELS = {res.path: res.label for res in RESOURCES}

# Records the forms refer to, made through the API: (resource path, title) -> id.
Refs = dict[tuple[str, str], int]


@dataclass(frozen=True)
class Case:
    """How to create, show and edit one record of a resource through its pages."""

    path: str
    singular: str
    title: str  # the record's name on its detail page
    inputs: dict[str, str]  # input or textarea id -> text to type
    options: dict[str, list[str]] = field(default_factory=dict)  # select id -> option labels
    checks: dict[str, bool] = field(default_factory=dict)  # checkbox id -> checked
    shown: dict[str, str] = field(default_factory=dict)  # column -> text on the detail page
    links: tuple[tuple[str, str], ...] = ()  # references the detail page links to
    granted: tuple[str, ...] = ()  # a role's permissions, checked in its matrix
    edit: tuple[str, str] = ("", "")  # input id -> new text, shown after saving


CASES = [
    Case(
        "users",
        "User",
        "carol",
        {
            "username": "carol",
            "email": "carol@example.com",
            "password": "carol-pass-123",
            "full_name": "Carol Jones",
        },
        options={"role_ids": ["user"], "group_ids": ["demo-team"]},
        checks={"is_active": True},
        shown={"email": "carol@example.com", "full_name": "Carol Jones", "is_active": "Yes"},
        links=(("roles", "user"), ("groups", "demo-team")),
        edit=("full_name", "Carol Smith"),
    ),
    Case(
        "roles",
        "Role",
        "auditor",
        {"name": "auditor", "description": "Reads tasks"},
        options={"permission_ids": ["task:read:all", "project:read:all"]},
        shown={"description": "Reads tasks"},
        granted=("task:read:all", "project:read:all"),
        edit=("description", "Reads tasks and projects"),
    ),
    Case(
        "permissions",
        "Permission",
        "report:read:all",
        {"model": "report", "description": "Read reports"},
        options={"action": ["read"], "scope": ["all"]},
        shown={"model": "report", "action": "Read", "scope": "All"},  # enumerations by label
        edit=("description", "Read every report"),
    ),
    Case(
        "groups",
        "Group",
        "ops",
        {"name": "ops", "description": "Operations"},
        options={"member_ids": ["demo"]},
        shown={"description": "Operations"},
        links=(("users", "demo"),),
        edit=("description", "Operations and support"),
    ),
    Case(
        "customers",
        "Customer",
        "Globex",
        {
            "name": "Globex",
            "email": "info@globex.example.com",
            "phone": "+1 555 0100",
            "company": "Globex Corporation",
            "notes": "Key account",
        },
        checks={"is_active": True},
        shown={
            "email": "info@globex.example.com",
            "phone": "+1 555 0100",
            "company": "Globex Corporation",
            "notes": "Key account",
            "is_active": "Yes",
        },
        edit=("company", "Globex Inc"),
    ),
    Case(
        "projects",
        "Project",
        "Zeus",
        {
            "name": "Zeus",
            "description": "Rebuild the portal",
            "budget": "1500.50",
            "start_date": "2025-01-15",
            "due_date": "2025-06-30",
        },
        options={"customer_id": ["Acme Corp"], "status": ["active"]},
        checks={"is_billable": False},
        shown={
            "description": "Rebuild the portal",
            "status": "Active",
            "budget": "1500.50",
            "is_billable": "No",
            "start_date": "2025-01-15",
            "due_date": "2025-06-30",
        },
        links=(("customers", "Acme Corp"),),
        edit=("description", "Rebuild the customer portal"),
    ),
    Case(
        "tasks",
        "Task",
        "Ship it",
        {
            "title": "Ship it",
            "description": "Release the build",
            "priority": "2",
            "due_at": "2025-03-01T10:30",
            "estimate_hours": "4.5",
        },
        options={
            "project_id": ["Apollo"],
            "status": ["in progress"],
            "assignee_id": ["demo"],
            "tag_ids": ["urgent", "backend"],
        },
        shown={
            "description": "Release the build",
            "status": "In progress",
            "priority": "2",
            "due_at": "2025-03-01 10:30 UTC",
            "estimate_hours": "4.50",
        },
        links=(("projects", "Apollo"), ("users", "demo"), ("tags", "urgent"), ("tags", "backend")),
        edit=("description", "Release the signed build"),
    ),
    Case(
        "tags",
        "Tag",
        "frontend",
        {"name": "frontend", "color": "#ff8800"},
        shown={"color": "#ff8800"},
        edit=("color", "#00aa55"),
    ),
    Case(
        "comments",
        "Comment",
        "Looks good to me",
        {"body": "Looks good to me"},
        options={"task_id": ["Write specs"]},
        links=(("tasks", "Write specs"),),
        edit=("body", "Needs another look"),
    ),
    Case(
        "time_entries",
        "Time entry",
        "2025-02-03",
        {"spent_on": "2025-02-03", "minutes": "90", "note": "Pairing"},
        options={"task_id": ["Write specs"], "user_id": ["demo"]},
        checks={"is_billable": True},
        shown={"spent_on": "2025-02-03", "minutes": "90", "note": "Pairing", "is_billable": "Yes"},
        links=(("tasks", "Write specs"), ("users", "demo")),
        edit=("minutes", "120"),
    ),
]

# The record a derived case chooses for a required reference: made by `refs`, or seeded.
CHOSEN = {
    "customers": "Acme Corp",
    "projects": "Apollo",
    "tasks": "Write specs",
    "tags": "urgent",
    "users": "demo",
    "groups": "demo-team",
    "roles": "user",
}


def derived_case(res: Resource) -> Case:
    """Return the case of a resource no case above covers, made from its create schema."""
    schema = res.create_schema
    assert schema is not None
    parents = required_parents(res)
    body = example_body(schema, text="Sample", given=dict.fromkeys(parents, 1))
    inputs: dict[str, str] = {}
    edit: tuple[str, str] | None = None
    for name, info in schema.model_fields.items():
        annotation, _, _ = unwrap(info.annotation)
        plain = annotation in (str, int, Decimal, date, datetime)
        if name in parents or name in res.references or name in OWNER_FIELDS or not plain:
            continue
        if name in body:
            inputs[name] = str(body[name])[:16] if annotation is datetime else str(body[name])
        if edit is None and name != res.title_field and annotation in (str, int, Decimal):
            old = body.get(name, example_value(schema, name, "Sample"))
            new = example_value(schema, name, "Changed")
            if annotation is not str:
                new = str(Decimal(str(old)) + 1) if annotation is Decimal else str(int(old) + 1)
            inputs.setdefault(name, str(old))
            edit = (name, new)
    if edit is None or res.title_field not in inputs:
        raise LookupError(f"{res.path}: no derived browser case; add a Case to {__name__}")
    shown = [inputs[name] for name in res.title_fields if inputs.get(name)]
    return Case(
        res.path,
        res.singular,
        ":".join(shown) or inputs[res.title_field],  # the title, as the page names it
        inputs,
        options={name: [CHOSEN[target]] for name, target in parents.items()},
        links=tuple((target, CHOSEN[target]) for target in parents.values()),
        edit=edit,
    )


CASES += [
    derived_case(res)
    for res in RESOURCES
    if res.create_schema is not None and res.path not in {case.path for case in CASES}
]


@pytest.fixture
def refs(admin: httpx.Client) -> Refs:
    """Create the records the forms choose from, and index every record they may name."""
    customer = api_create(admin, "customers", name="Acme Corp")
    project = api_create(admin, "projects", name="Apollo", customer_id=customer["id"])
    task = api_create(admin, "tasks", title="Write specs", project_id=project["id"])
    found: Refs = {
        ("customers", "Acme Corp"): customer["id"],
        ("projects", "Apollo"): project["id"],
        ("tasks", "Write specs"): task["id"],
    }
    for name in ("urgent", "backend"):
        found["tags", name] = api_create(admin, "tags", name=name)["id"]
    for path, key in (("users", "username"), ("roles", "name"), ("groups", "name")):
        for item in admin.get(f"/{path}").json()["items"]:
            found[path, item[key]] = item["id"]
    for name in ("task:read:all", "project:read:all"):
        model, action, scope = name.split(":")
        found["permissions", name] = api_find(
            admin, "permissions", model=model, action=action, scope=scope
        )["id"]
    return found


def expect_choices(page: Page, case: Case, refs: Refs) -> None:
    """Expect the detail page to show the records chosen in the form's selects."""
    for path, title in case.links:
        target = page.locator("dl.fields").locator(f'a[href="/{path}/{refs[path, title]}"]')
        expect(target).to_have_count(1)
    for name in case.granted:
        expect(page.get_by_role("checkbox", name=name, exact=True)).to_be_checked()
    if case.granted:
        expect(page.locator("section.matrix input:checked")).to_have_count(len(case.granted))


@pytest.mark.parametrize("case", CASES, ids=[case.path for case in CASES])
def test_admin_creates_views_edits_and_deletes(page: Page, refs: Refs, case: Case) -> None:
    """Create a record with its form, see it, edit one field, and delete it with the button."""
    sign_in(page, "admin", "admin123")
    label = LABELS[case.path]
    page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True).click()
    arrive(page, rf"/{case.path}$")
    page.get_by_role("link", name=f"New {case.singular.lower()}").click()
    arrive(page, rf"/{case.path}/new$")

    for name, text in case.inputs.items():
        page.locator(f"#{name}").fill(text)
    for name, labels in case.options.items():
        page.locator(f"#{name}").select_option(label=labels)
    for name, checked in case.checks.items():
        page.locator(f"#{name}").set_checked(checked)
    page.get_by_role("button", name="Create").click()

    arrive(page, rf"/{case.path}/\d+$")
    expect_flash(page, f"{case.singular} “{case.title}” created.")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(f"{case.singular}: {case.title}")
    record_id = int(page.url.rsplit("/", 1)[1])
    for column, text in case.shown.items():
        expect(value_of(page, column)).to_have_text(text)
    expect_choices(page, case, refs)

    page.get_by_role("link", name="Edit").click()
    arrive(page, rf"/{case.path}/{record_id}/edit$")
    for name, labels in case.options.items():
        chosen = page.locator(f"#{name} option:checked").all_inner_texts()
        assert sorted(chosen) == sorted(labels), (name, chosen)
    name, text = case.edit
    page.locator(f"#{name}").fill(text)
    page.get_by_role("button", name="Save").click()
    arrive(page, rf"/{case.path}/{record_id}$")
    expect_flash(page, " saved.")
    expect(value_of(page, name)).to_have_text(text)
    for column, shown in case.shown.items():  # an edit keeps what it did not touch
        if column != name:
            expect(value_of(page, column)).to_have_text(shown)
    expect_choices(page, case, refs)

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete", exact=True).click()
    page.reload()  # the dismissed confirmation sent nothing: the record is still there
    expect(heading).to_have_text(re.compile(rf"^{re.escape(case.singular)}: "))
    accept_next_dialog(page)
    page.get_by_role("button", name="Delete", exact=True).click()
    arrive(page, rf"/{case.path}$")
    expect_flash(page, f"{case.singular} “")
    expect_flash(page, " deleted.")
    expect(page.locator(f'tbody a[href="/{case.path}/{record_id}"]')).to_have_count(0)
    response = page.goto(f"/{case.path}/{record_id}")
    assert response is not None and response.status == 404


def test_invalid_form_shows_messages_next_to_fields(page: Page) -> None:
    """Submit a project without its required name: the form comes back with the message."""
    sign_in(page, "admin", "admin123")
    page.goto("/projects/new")
    page.locator("#description").fill("Kept after the error")
    page.locator("#budget").fill("12.5")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Create").click()
    response = navigation.value
    assert response is not None and response.status == 422
    expect(page.get_by_role("heading", level=1)).to_have_text("New project")
    expect(page.locator(".field.invalid")).to_have_count(1)
    expect(page.locator("#name")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#name-error")).to_be_visible()
    expect(page.locator("#name-error")).not_to_be_empty()
    expect(page.locator("#description")).to_have_value("Kept after the error")
    expect(page.locator("#budget")).to_have_value("12.5")
    screenshot(page, "form-with-errors")

    page.locator("#name").fill("Fixed")
    page.get_by_role("button", name="Create").click()
    arrive(page, r"/projects/\d+$")
    expect(value_of(page, "description")).to_have_text("Kept after the error")
    expect(value_of(page, "budget")).to_have_text("12.50")
