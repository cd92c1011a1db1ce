"""Every rule a form can break says what to do at the field, with the API's words for it.

The broken values and their words come from the schemas (`tests/support/broken_rules.py`,
which the API answers too); this module sends each one a form can carry (a checkbox
cannot be "yes", a text box cannot be a number) through every resource's new and edit
forms, the registration page and the form that changes one's own password, with records
that do not exist and the rules over several fields. Nothing is written. The sign-in page
answers every refusal with one message by design (it never says which part was wrong).
"""

import httpx
import pytest

from app.resources import REGISTRY
from app.schemas.user import RegisterRequest
from tests.conftest import Backend
from tests.html.conftest import Browser
from tests.html.dom import FormData, Page
from tests.html.site import assert_html, dump, fill_new, page, submit
from tests.html.test_write_rules import rule_breaches
from tests.support.broken_rules import CHOOSE, MISSING_ID, Broken, rules_of
from tests.support.records import CREATABLE, Records

# Inputs only the form of one's own account shows (`test_a_password_change_says_what_it_needs`).
OWN_ONLY = frozenset({"current_password"})


def form_cases(cases: list[Broken], names: list[str], *, edit: bool) -> list[Broken]:
    """Keep the cases a form can send, once per value; every field must be in the form."""
    kept: dict[tuple[str, str], Broken] = {}
    for case in cases:
        if case.form is None or (case.field in OWN_ONLY and case.field not in names):
            continue
        assert case.field in names, f"{case}: the form has no {case.field} input"
        if edit and case.field == "password" and not case.form:
            continue  # an edit leaves a blank password out: the password stays
        kept.setdefault((case.field, repr(case.form)), case)
    return list(kept.values())


def as_sent(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def assert_words(response: httpx.Response, field: str, words: str, label: str) -> None:
    """Check the form came back (422) saying at `field` what to do about the rule the API
    words as `words`: an instruction that holds those words ("Priority must be at most 5"),
    or for "required" one that asks to enter or choose; the error summary links to the
    field with the same words."""
    assert_html(response, 422)
    shown = Page(response)
    said = shown.errors().get(field) or ""
    where = f"{label}: {field} says {said!r}: {shown.errors()}"
    assert said[:1].isupper(), where
    if words == "required":
        assert said.startswith(("Enter ", "Choose ")), where
    else:
        assert words.lower() in said.lower(), where
    linked = [a.text() for a in shown.root.find_all("a") if a.attrs.get("href") == f"#{field}"]
    assert linked == [said], f"{where}; the summary links to it as {linked}"


def break_each(browser: Browser, action: str, data: FormData, cases: list[Broken]) -> None:
    token = data["csrf_token"][0]
    for case in cases:
        sent = data | {case.field: as_sent(case.form or "")}
        assert_words(submit(browser, action, sent, token), case.field, case.message, str(case))


@pytest.mark.parametrize("path", CREATABLE)
def test_the_forms_say_each_rule_in_words(
    path: str, admin_browser: Browser, records: Records, live: Backend
) -> None:
    """Break each rule through the new form and the edit form: the words at the field."""
    res = REGISTRY[path]
    assert res.create_schema is not None and res.update_schema is not None
    record = records.create(path)
    form = page(admin_browser, f"/{path}/new").form(f"/{path}")
    data = fill_new(records, path, form.data()) | {"csrf_token": form.data()["csrf_token"]}
    before = dump(live.settings)
    cases = form_cases(rules_of(res.create_schema), form.names(), edit=False)
    assert cases, path
    break_each(admin_browser, f"/{path}", data, cases)
    url = f"/{path}/{record['id']}"
    form = page(admin_browser, f"{url}/edit").form(url)
    cases = form_cases(rules_of(res.update_schema), form.names(), edit=True)
    break_each(admin_browser, url, form.data(), cases)
    assert dump(live.settings) == before, "a refused form changed the database"


@pytest.mark.parametrize("path", CREATABLE)
def test_the_forms_name_records_and_rules_over_fields_in_words(
    path: str, admin_browser: Browser, records: Records
) -> None:
    """A record that does not exist, and each rule over several fields, at the fields."""
    res = REGISTRY[path]
    form = page(admin_browser, f"/{path}/new").form(f"/{path}")
    data = fill_new(records, path, form.data()) | {"csrf_token": form.data()["csrf_token"]}
    token = data["csrf_token"][0]
    for name in form.names(lambda control: control.name in CHOOSE):
        sent = data | {name: [str(MISSING_ID)]}
        words = f"{CHOOSE[name]} you can see"
        assert_words(submit(admin_browser, f"/{path}", sent, token), name, words, name)
    for kept, breach in rule_breaches(res):
        sent = data | {name: [str(value)] for name, value in (kept | breach.change).items()}
        shown = submit(admin_browser, f"/{path}", sent, token)
        for name in breach.named:
            assert_words(shown, name, breach.why, breach.why)


def test_registration_says_each_rule_in_words(browser: Browser, live: Backend) -> None:
    form = page(browser, "/register").form("/register")
    data = form.data() | {
        "username": ["newcomer"],
        "email": ["newcomer@example.com"],
        "password": ["tidal-parsnip-42"],
    }
    before = dump(live.settings)
    cases = form_cases(rules_of(RegisterRequest), form.names(), edit=False)
    assert {case.field for case in cases} == {"username", "email", "password", "full_name"}
    break_each(browser, "/register", data, cases)
    assert dump(live.settings)["users"] == before["users"]


def test_a_password_change_says_what_it_needs(admin_browser: Browser) -> None:
    """The own account's form: the current password's rules, then the write's own words."""
    url = "/users/1"
    form = page(admin_browser, f"{url}/edit").form(url)
    data = form.data()
    token = data["csrf_token"][0]
    res = REGISTRY["users"]
    assert res.update_schema is not None
    # left blank, a current password is not given: the write's own words below say so
    current = [
        case
        for case in rules_of(res.update_schema)
        if case.field == "current_password" and case.form
    ]
    cases = form_cases(current, form.names(), edit=True)
    assert cases
    break_each(admin_browser, url, data | {"password": ["tidal-new-pass"]}, cases)
    needed = "enter your current password to set a new one"
    missing = submit(admin_browser, url, data | {"password": ["tidal-new-pass"]}, token)
    assert_words(missing, "current_password", needed, "no current password")
    wrong = data | {"password": ["tidal-new-pass"], "current_password": ["nope-nope"]}
    said = "is not your current password"
    assert_words(submit(admin_browser, url, wrong, token), "current_password", said, "wrong")
