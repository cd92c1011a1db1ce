"""Forms: bad input re-renders the form (422) with the values and a message at the field.

Every resource's create and edit form is sent bad values one field at a time: the cases
come from the form's own inputs (required, maxlength, number, date, select, multi-select)
plus each resource's unique keys and rules. No answer may be a 500 or JSON, and nothing
may be written. Valid input redirects (303) and the next page shows a flash message.
A malformed or oversized body is answered with a page too.
"""

import re

import httpx
import pytest

from tests.conftest import Backend
from tests.html.conftest import Browser
from tests.html.dom import Form
from tests.html.site import (
    Bad,
    assert_html,
    dump,
    fill_new,
    follow_flash,
    location,
    page,
    submit,
    try_bad_inputs,
)
from tests.support.records import CHANGES, CREATABLE, Records

TEXT_KINDS = ("text", "textarea", "email", "password")
HUGE_ID = "99999999999"
MISSING_ID = "999999"


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
