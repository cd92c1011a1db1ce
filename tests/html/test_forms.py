"""Forms: bad input re-renders the form (422) with the values and a message at the field.

Every resource's create and edit form is sent bad values one field at a time: the cases
come from the form's own inputs (required, maxlength, number, date, select, multi-select)
plus each resource's unique keys and rules. No answer may be a 500 or JSON, and nothing
may be written. Valid input redirects (303) and the next page shows a flash message.
"""

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import Backend
from tests.html.conftest import Browser
from tests.html.dom import Form, FormData, Page
from tests.html.site import assert_html, dump, fill_new, location, page, submit
from tests.support.factories import unique
from tests.support.records import CHANGES, CREATABLE, Records

TEXT_KINDS = ("text", "textarea", "email", "password")
SHOWN_KINDS = ("text", "textarea", "email", "number", "date", "datetime-local")
HUGE_ID = "99999999999"
MISSING_ID = "999999"


@dataclass(frozen=True)
class Bad:
    """One bad value for one field, and the fields that may carry its message."""

    field: str
    value: str | list[str]
    why: str
    flagged: tuple[str, ...] = ()

    @property
    def expected(self) -> tuple[str, ...]:
        return self.flagged or (self.field,)


def _is_reference(options: list[tuple[str, str]]) -> bool:
    return all(value.isdigit() for value, _ in options if value)


def generic_bad_inputs(form: Form, *, update: bool) -> list[Bad]:
    """Derive bad values from the form's inputs, as a careless or hostile user types them.

    The owner selects every form shares get one case each; malformed ids are tried on
    each resource's own references.
    """
    bad: list[Bad] = []
    for control in form.controls:
        name, kind, attrs = control.name, control.kind, control.element.attrs
        if name == "csrf_token":
            continue
        if name.startswith("owner_"):
            bad.append(Bad(name, MISSING_ID, "an owner that does not exist"))
            continue
        if kind in TEXT_KINDS:
            if "required" in attrs and not (update and kind == "password"):
                bad.append(Bad(name, "", "empty, required"))
                if not update:
                    bad.append(Bad(name, "   ", "blank, required"))
            if "maxlength" in attrs:
                bad.append(Bad(name, "x" * (int(attrs["maxlength"]) + 1), "too long"))
            nul = "abcdefgh\x00ij" if kind != "email" else "ab\x00c@example.com"
            bad.append(Bad(name, nul, "NUL byte"))
            if kind == "email":
                bad.append(Bad(name, "not-an-email", "malformed email"))
        elif kind == "number":
            bad += [
                Bad(name, "abc", "letters in a number"),
                Bad(name, "-5", "negative"),
                Bad(name, "1" * 30, "huge number"),
            ]
            if attrs.get("step") != "1":
                bad.append(Bad(name, "NaN", "not a finite number"))
        elif kind == "date":
            bad += [Bad(name, "2024-02-30", "no such day"), Bad(name, "soon", "not a date")]
        elif kind == "datetime-local":
            bad.append(Bad(name, "not a time", "not a datetime"))
        elif kind == "select":
            if _is_reference(control.options()):
                bad += [
                    Bad(name, MISSING_ID, "a record that does not exist"),
                    Bad(name, HUGE_ID, "a huge id"),
                    Bad(name, "abc", "letters as an id"),
                ]
            else:
                bad.append(Bad(name, "bogus", "not one of the choices"))
        elif kind == "select-multiple":
            bad += [
                Bad(name, [MISSING_ID], "a record that does not exist"),
                Bad(name, [HUGE_ID], "a huge id"),
                Bad(name, ["abc"], "letters as an id"),
            ]
    return bad


def specific_bad_inputs(path: str, admin: httpx.Client, records: Records) -> list[Bad]:
    """Return what the inputs do not say: unique keys and each resource's own rules."""
    if path == "users":
        email = admin.get("/auth/me").json()["email"]
        return [
            Bad("username", "admin", "username taken"),
            Bad("username", "no spaces", "bad username characters"),
            Bad("email", email.upper(), "email taken, in another case"),
        ]
    if path == "roles":
        return [Bad("name", "admin", "name taken")]
    if path == "groups":
        return [Bad("name", "demo-team", "name taken")]
    if path == "permissions":
        return [
            Bad("model", "user", "model:action:scope taken", ("model", "action", "scope")),
            Bad("action", "destroy", "not an action"),
        ]
    if path == "tags":
        taken = records.create("tags")["name"]
        return [Bad("name", taken, "name taken"), Bad("color", "red", "not a #rrggbb colour")]
    if path == "projects":
        return [
            Bad("due_date", "2024-01-01", "due before start", ("due_date", "start_date")),
            Bad("budget", "12345678901234.5", "too many digits"),
            Bad("budget", "1.234", "too many decimals"),
        ]
    if path == "tasks":
        return [Bad("priority", "6", "priority above 5"), Bad("priority", "2.5", "fraction")]
    if path == "time_entries":
        return [Bad("minutes", "0", "no minutes"), Bad("minutes", "1441", "over a day")]
    return []


# resource path -> field -> (the control its column calls for, its maxlength if text)
CONTROLS: dict[str, dict[str, tuple[str, int | None]]] = {
    "users": {
        "email": ("email", 320),
        "password": ("password", 128),
        "full_name": ("text", 200),
        "is_active": ("checkbox", None),
        "role_ids": ("select-multiple", None),
    },
    "customers": {"phone": ("text", 50), "notes": ("textarea", 100_000)},
    "projects": {
        "customer_id": ("select", None),
        "budget": ("number", None),
        "start_date": ("date", None),
        "due_date": ("date", None),
    },
    "tasks": {
        "priority": ("number", None),
        "due_at": ("datetime-local", None),
        "completed_at": ("datetime-local", None),
        "estimate_hours": ("number", None),
        "tag_ids": ("select-multiple", None),
    },
    "time_entries": {"minutes": ("number", None), "note": ("text", 500)},
    "tags": {"color": ("text", 7)},
}


def test_form_controls_fit_their_columns(admin_browser: Browser) -> None:
    """Give every text control its column's length, and dates and numbers their inputs."""
    for path in CREATABLE:
        form = page(admin_browser, f"/{path}/new").form(f"/{path}")
        for control in form.controls:
            if control.kind in TEXT_KINDS:
                assert control.element.attrs.get("maxlength"), f"{path}.{control.name}"
        for name, (kind, length) in CONTROLS.get(path, {}).items():
            control = form.control(name)
            assert control.kind == kind, f"{path}.{name} is a {control.kind}"
            if length is not None:
                assert control.element.attrs.get("maxlength") == str(length), f"{path}.{name}"


def _with(data: FormData, case: Bad, path: str) -> FormData:
    sent = dict(data)
    sent[case.field] = case.value if isinstance(case.value, list) else [case.value]
    if case.field == "model" and path == "permissions":
        sent |= {"action": ["read"], "scope": ["own"]}
    if case.field == "due_date":
        sent["start_date"] = ["2024-05-05"]
    return sent


def check_rerendered(response: httpx.Response, case: Bad, sent: FormData, token: str) -> None:
    """Check the 422 page: the message at the field, the values as entered, a fresh form."""
    label = f"{case.field}={case.value!r} ({case.why})"
    assert response.status_code == 422, f"{label}: {response.status_code} {response.text[:300]}"
    assert_html(response, 422)
    shown = Page(response)
    errors = shown.errors()
    flagged = [name for name in case.expected if errors.get(name)]
    assert flagged, f"{label}: no message at {case.expected}; messages: {errors}"
    for name in flagged:
        message = shown.root.by_id(f"{name}-error")
        control = shown.root.by_id(name)
        assert message is not None and control is not None, label
        assert message.parent is not None and message.parent.contains(control), (
            f"{label}: the message is not next to the field"
        )
        if control.attrs.get("type") != "checkbox":
            assert control.attrs.get("aria-invalid") == "true", label
            assert f"{name}-error" in control.attrs.get("aria-describedby", ""), label
    form = shown.form()
    assert form.data()["csrf_token"] == [token], f"{label}: the form lost its token"
    for control in form.controls:
        if control.kind not in SHOWN_KINDS or control.name not in sent:
            continue
        entered = [value.strip() for value in sent[control.name]]
        assert control.submitted() == entered, (
            f"{label}: {control.name} shows {control.submitted()}, entered {entered}"
        )
    for name, entered in sent.items():
        control = next((c for c in form.controls if c.name == name), None)
        if control is None or control.kind not in ("select", "select-multiple"):
            continue
        offered = {value for value, _ in control.options()}
        if all(value in offered for value in entered):
            assert sorted(control.submitted()) == sorted(entered), f"{label}: {name} not kept"


def try_bad_inputs(
    browser: Browser, live: Backend, action: str, data: FormData, cases: list[Bad], path: str
) -> None:
    """Send each bad value on top of valid `data`; check every answer and the database."""
    token = data["csrf_token"][0]
    before = dump(live.settings)
    for case in cases:
        sent = _with(data, case, path)
        response = submit(browser, action, sent, token)
        check_rerendered(response, case, sent, token)
    assert dump(live.settings) == before, "a refused form changed the database"


def follow_flash(browser: Browser, response: httpx.Response, message: str) -> Page:
    """Follow a 303 and check the next page shows `message` once, as a flash."""
    target = location(response)
    shown = page(browser, target)
    assert any(message in text for text in shown.flashes()), shown.flashes()
    assert page(browser, target).flashes() == [], "the flash message showed twice"
    return shown


@pytest.mark.parametrize("path", CREATABLE)
def test_create_form_refuses_bad_input_at_the_field(
    path: str, admin_browser: Browser, admin: httpx.Client, records: Records, live: Backend
) -> None:
    """Send bad input to a create form: 422 with field messages; then valid input: 303."""
    form = page(admin_browser, f"/{path}/new").form(f"/{path}")
    data = fill_new(records, path, form.data()) | {"csrf_token": form.data()["csrf_token"]}
    cases = generic_bad_inputs(form, update=False) + specific_bad_inputs(path, admin, records)
    assert len(cases) >= 4
    try_bad_inputs(admin_browser, live, f"/{path}", data, cases, path)
    total = records.total(path)
    response = submit(admin_browser, f"/{path}", data, data["csrf_token"][0])
    assert re.fullmatch(rf"/{path}/\d+", location(response))
    follow_flash(admin_browser, response, "created.")
    assert records.total(path) == total + 1


@pytest.mark.parametrize("path", CREATABLE)
def test_edit_form_refuses_bad_input_at_the_field(
    path: str, admin_browser: Browser, admin: httpx.Client, records: Records, live: Backend
) -> None:
    """Send bad input to an edit form: 422 with field messages; then a valid change: 303."""
    record = records.create(path)
    url = f"/{path}/{record['id']}"
    form = page(admin_browser, f"{url}/edit").form(url)
    data = form.data()
    cases = generic_bad_inputs(form, update=True) + specific_bad_inputs(path, admin, records)
    try_bad_inputs(admin_browser, live, url, data, cases, path)
    change = CHANGES[path]
    response = submit(
        admin_browser,
        url,
        data | {name: [str(value)] for name, value in change.items()},
        data["csrf_token"][0],
    )
    assert location(response) == url
    follow_flash(admin_browser, response, "saved.")
    stored = admin.get(f"/{path}/{record['id']}").json()
    assert {name: stored[name] for name in change} == change


def test_an_unchanged_edit_form_saves_nothing_new(
    admin_browser: Browser, records: Records, admin: httpx.Client
) -> None:
    """Submit an edit form as shown: 303, and the record keeps every value."""
    tags = [records.create("tags")["id"] for _ in range(2)]
    task = records.create(
        "tasks",
        description="keep me\nover two lines",
        priority=4,
        status="blocked",
        due_at="2024-05-06T10:30:45Z",
        estimate_hours="1.50",
        tag_ids=tags,
    )
    url = f"/tasks/{task['id']}"
    form = page(admin_browser, f"{url}/edit").form(url)
    response = submit(admin_browser, url, form.data(), form.data()["csrf_token"][0])
    assert location(response) == url
    after = admin.get(url).json()
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in task.items() if k != "updated_at"
    }


# resource path, field, the resource the field names (made admin-only for the test)
HIDDEN_REFERENCES = [
    ("projects", "customer_id", "customers"),
    ("tasks", "project_id", "projects"),
    ("tasks", "assignee_id", "users"),
    ("comments", "task_id", "tasks"),
    ("time_entries", "task_id", "tasks"),
    ("time_entries", "user_id", "users"),
    ("customers", "owner_group_id", "groups"),
    ("tasks", "owner_group_id", "groups"),
]


@pytest.mark.parametrize(("path", "field", "target"), HIDDEN_REFERENCES)
def test_a_record_the_caller_cannot_read_is_a_field_error(
    path: str,
    field: str,
    target: str,
    demo_browser: Browser,
    demo: httpx.Client,
    records: Records,
    live: Backend,
) -> None:
    """Name a record demo cannot read, creating and editing: 422 at the field, never offered."""
    hidden = records.create(target)["id"]
    assert demo.get(f"/{target}/{hidden}").status_code == 404
    record = own_record(path, demo)
    for url, form_url in ((f"/{path}", f"/{path}/new"), (f"/{path}/{record['id']}", None)):
        form = page(demo_browser, form_url or f"{url}/edit").form(url)
        data = form.data()
        if form_url is not None:
            data |= {name: [value] for name, value in fill_demo(path, demo).items()}
        assert str(hidden) not in {value for value, _ in form.control(field).options()}
        case = Bad(field, str(hidden), "a record the caller cannot read")
        try_bad_inputs(demo_browser, live, url, data, [case], path)
        shown = Page(submit(demo_browser, url, _with(data, case, path), data["csrf_token"][0]))
        offered = {value for value, _ in shown.form(url).control(field).options()}
        assert str(hidden) not in offered, url


def own_record(path: str, demo: httpx.Client) -> dict[str, Any]:
    """Create a record of `path` as demo, through the API."""
    response = demo.post(f"/{path}", json={k: _json(v) for k, v in fill_demo(path, demo).items()})
    assert response.status_code == 201, response.text
    return response.json()


def _json(value: str) -> Any:
    return int(value) if value.isdigit() else value


def fill_demo(path: str, demo: httpx.Client) -> dict[str, str]:
    """Return valid required fields for a record demo creates, parents demo's own."""
    name = unique("demo")
    if path == "customers":
        return {"name": name}
    if path == "projects":
        return {"name": name}
    project = demo.post("/projects", json={"name": name}).json()
    if path == "tasks":
        return {"title": name, "project_id": str(project["id"])}
    task = demo.post("/tasks", json={"title": name, "project_id": project["id"]}).json()
    if path == "comments":
        return {"body": name, "task_id": str(task["id"])}
    return {"task_id": str(task["id"]), "spent_on": "2024-05-06", "minutes": "30"}


def test_demo_edits_own_account_but_not_privileged_fields(
    demo_browser: Browser, demo: httpx.Client, live: Backend
) -> None:
    """Let demo edit only email, name and password; ignore smuggled privileged fields."""
    me = demo.get("/auth/me").json()
    url = f"/users/{me['id']}"
    form = page(demo_browser, f"{url}/edit").form(url)
    assert set(form.names()) == {"csrf_token", "email", "full_name", "password"}
    data = form.data()
    cases = [
        Bad("email", "not-an-email", "malformed email"),
        Bad("email", "admin@example.com", "email taken"),
        Bad("password", "short", "password too short"),
        Bad("full_name", "x" * 201, "too long"),
    ]
    try_bad_inputs(demo_browser, live, url, data, cases, "users")
    smuggled = data | {
        "full_name": ["Demo Person"],
        "role_ids": ["1"],
        "group_ids": ["1"],
        "is_active": [],
        "username": ["root"],
    }
    response = submit(demo_browser, url, smuggled, data["csrf_token"][0])
    follow_flash(demo_browser, response, "saved.")
    after = demo.get("/auth/me").json()
    assert after["full_name"] == "Demo Person"
    assert (after["username"], after["roles"], after["groups"], after["is_active"]) == (
        me["username"],
        me["roles"],
        me["groups"],
        me["is_active"],
    )


def test_a_malformed_form_body_is_answered_with_a_page(admin_browser: Browser) -> None:
    """Post a form body with a broken escape: a page (or the record), never JSON or a 500."""
    token = page(admin_browser, "/tags/new").csrf_token
    broken = admin_browser.post(
        "/tags",
        content=b"csrf_token=" + token.encode() + b"&name=%ZZ&color=%23aabbcc",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert broken.status_code in (303, 422), broken.text[:300]
    if broken.status_code == 422:
        assert_html(broken, 422)


def test_an_oversized_form_is_refused_with_a_page(admin_browser: Browser, live: Backend) -> None:
    """Refuse a form body over the size limit with a 413 page, not JSON; store nothing."""
    token = page(admin_browser, "/customers/new").csrf_token
    before = dump(live.settings)
    notes = "x" * (live.settings.max_body_bytes + 1)
    response = admin_browser.post(
        "/customers", data={"csrf_token": token, "name": "big", "notes": notes}
    )
    assert_html(response, 413)
    assert dump(live.settings) == before
