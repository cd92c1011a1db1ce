"""Registration, login and logout through the pages."""

from collections.abc import Callable

import httpx
import pytest

from app.core import csrf
from tests.conftest import Backend
from tests.html.conftest import Browser
from tests.html.dom import Page
from tests.html.site import assert_html, csrf_token, dump, location, page, sign_in
from tests.support.checks import password_checks
from tests.support.concurrency import at_once
from tests.support.factories import unique


def register(browser: Browser, **fields: str) -> httpx.Response:
    """Fill the registration form with valid values, overridden by `fields`."""
    name = unique("reg")
    data = {
        "username": name,
        "email": f"{name}@example.com",
        "password": "tidal-parsnip-42",
        "full_name": "",
        "csrf_token": csrf_token(browser, "/register"),
    }
    return browser.post("/register", data=data | fields)


def test_registration_creates_a_user_and_signs_them_in(
    browser: Browser, admin: httpx.Client
) -> None:
    """Register: 303 to the dashboard, signed in, role user, the anonymous cookie dropped."""
    name = unique("newbie")
    response = register(browser, username=name, email=f"{name}@Example.com", full_name="New B")
    assert location(response) == "/dashboard"
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("session_id="))
    assert "httponly" in session.lower() and "samesite=lax" in session.lower()
    assert browser.cookies.get(csrf.ANON_COOKIE) is None
    shown = page(browser, "/dashboard")
    assert shown.root.find("strong").text() == name  # type: ignore[union-attr]
    assert any("Your account is ready" in text for text in shown.flashes())
    assert "/roles" not in shown.nav_paths()
    found = admin.get("/users", params={"q": name}).json()["items"]
    assert [(u["username"], u["email"], u["roles"]) for u in found] == [
        (name, f"{name}@example.com", ["user"])
    ]
    assert page(browser, "/customers").heading == "Customers"
    assert location(browser.get("/register")) == "/dashboard"


def _check_refused(response: httpx.Response, field: str, sent: dict[str, str]) -> None:
    label = f"{field}={sent.get(field)!r}"
    assert response.status_code == 422, f"{label}: {response.status_code}"
    assert_html(response, 422)
    shown = Page(response)
    assert shown.errors().get(field), f"{label}: no message at the field: {shown.errors()}"
    message = shown.root.by_id(f"{field}-error")
    control = shown.root.by_id(field)
    assert message is not None and control is not None and message.parent is not None
    assert message.parent.contains(control), f"{label}: the message is not by the field"
    form = shown.form("/register")
    assert form.control("password").submitted() == [""], "the password was echoed"
    for name in ("username", "email", "full_name"):
        assert form.control(name).submitted() == [sent[name].strip()], f"{label}: {name} lost"
    assert form.data()["csrf_token"] == [sent["csrf_token"]]


def test_registration_refuses_bad_input_at_the_field(browser: Browser, live: Backend) -> None:
    """Refuse empty, short, long, malformed, NUL-bearing or taken values (422); add no one."""
    cases = [
        ("username", ""),
        ("username", "ab"),
        ("username", "x" * 51),
        ("username", "has space"),
        ("username", "nul\x00name"),
        ("username", "demo"),
        ("email", ""),
        ("email", "not-an-email"),
        ("email", "DEMO@example.com"),
        ("email", "a" * 320 + "@example.com"),
        ("password", ""),
        ("password", "short"),
        ("password", "x" * 129),
        ("password", "password\x00123"),
        ("full_name", "x" * 201),
        ("full_name", "nul\x00name"),
    ]
    token = csrf_token(browser, "/register")
    before = dump(live.settings)
    for field, value in cases:
        name = unique("reg")
        sent = {
            "username": name,
            "email": f"{name}@example.com",
            "password": "tidal-parsnip-42",
            "full_name": "Some One",
            "csrf_token": token,
        } | {field: value}
        _check_refused(browser.post("/register", data=sent), field, sent)
        assert dump(live.settings) == before, f"{field}={value!r} changed the database"
    assert browser.cookies.get("session_id") is None


def test_login_failures_give_one_message_and_no_session(browser: Browser, live: Backend) -> None:
    """Answer bad credentials or odd input with one 401 message, the name kept, no session."""
    before = dump(live.settings)
    for username, password in (
        ("demo", "wrong-password"),
        ("nobody", "demo123"),
        ("", "demo123"),
        ("demo", ""),
        ("de\x00mo", "demo123"),
        ("x" * 400, "demo123"),
        ("demo", "x" * 200),
    ):
        response = browser.post(
            "/login",
            data={
                "username": username,
                "password": password,
                "csrf_token": csrf_token(browser, "/login"),
            },
        )
        assert_html(response, 401)
        shown = Page(response)
        assert "Incorrect username or password." in shown.root.find("main").text()  # type: ignore[union-attr]
        form = shown.form("/login")
        if "\x00" not in username:
            assert form.data()["username"] == [username[:320]]
        assert form.control("password").submitted() == [""]
        assert browser.cookies.get("session_id") is None
    after = dump(live.settings)
    # Only the throttle's count moved: one failure per checked password (the input the
    # form refuses before any check is not counted).
    counted = dict((key, failures) for key, failures, *_ in after.pop("login_failures"))
    assert counted["address:127.0.0.1"] == 3
    # ... and the audit log's: one entry per checked failure, no password in any.
    entries = [entry for entry in after.pop("audit_log") if entry not in before["audit_log"]]
    assert [entry[6] for entry in entries] == ["sign_in_failed"] * 3
    assert not any("demo123" in repr(entry) or "wrong-password" in repr(entry) for entry in entries)
    before.pop("login_failures")
    before.pop("audit_log")
    assert after == before


def test_login_page_binds_its_token_to_an_anonymous_cookie(browser: Browser) -> None:
    """Bind the login page's token to an HttpOnly, SameSite=Strict anonymous cookie."""
    response = browser.get("/login")
    assert_html(response, 200)
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(f"{csrf.ANON_COOKIE}=")
    )
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    token = Page(response).csrf_token
    assert csrf_token(browser, "/login") == token, "the token changed within one visit"
    assert csrf_token(browser, "/register") == token


def test_logout_ends_the_session(
    signed_in: Callable[[str, str], Browser], browser_factory: Callable[[], Browser]
) -> None:
    """Sign out: 303 to the login page with a message; the old cookie no longer works."""
    browser = signed_in("demo", "demo123")
    cookie = browser.cookies.get("session_id")
    response = browser.post("/logout", data={"csrf_token": csrf_token(browser)})
    assert location(response) == "/login"
    assert any("signed out" in text for text in page(browser, "/login").flashes())
    replay = browser_factory()
    replay.cookies.set("session_id", cookie or "")
    assert location(replay.get("/dashboard")) == "/login?next=/dashboard"


def test_signed_in_visitors_skip_the_sign_in_pages(demo_browser: Browser) -> None:
    """Send a signed-in visitor from /, /login and /register to the dashboard (or `next=`)."""
    assert location(demo_browser.get("/")) == "/dashboard"
    assert location(demo_browser.get("/login")) == "/dashboard"
    assert location(demo_browser.get("/login?next=/tags")) == "/tags"
    assert location(demo_browser.get("/register")) == "/dashboard"


def test_sign_in_through_the_form(browser: Browser) -> None:
    """Sign in through the form with the email instead of the username."""
    assert location(sign_in(browser, "demo@example.com", "demo123")) == "/dashboard"


def test_form_and_api_sign_in_the_same_people(
    browser: Browser, client_factory: Callable[[], httpx.Client]
) -> None:
    """A long email and a password typed with spaces around it work on both, as registered."""
    api = client_factory()
    email = f"{unique('a-rather-long-mailbox-name-for-testing')}@long-domain.example.com"
    assert len(email) > 50
    account = {"username": unique("longmail"), "email": email, "password": "  padded-pass  "}
    assert api.post("/auth/register", json=account).status_code == 201

    answered = api.post("/auth/login", json={"username": email, "password": "  padded-pass  "})
    assert answered.status_code == 200, answered.text
    assert location(sign_in(browser, email, "  padded-pass  ")) == "/dashboard"


def test_repeated_failures_are_throttled_on_the_page(browser: Browser) -> None:
    """The form answers 429 with Retry-After and says how long to wait, in words."""
    for _ in range(5):
        sent = {"username": "demo", "password": "wrong-password"}
        sent["csrf_token"] = csrf_token(browser, "/login")
        assert_html(browser.post("/login", data=sent), 401)
    sent = {"username": "demo", "password": "demo123", "csrf_token": csrf_token(browser, "/login")}
    response = browser.post("/login", data=sent)
    assert_html(response, 429)
    assert response.headers["Retry-After"] == "2"
    text = Page(response).root.find("main").text()  # type: ignore[union-attr]
    assert "Too many failed sign-ins: try again in 2 seconds." in text
    assert browser.cookies.get("session_id") is None


@pytest.mark.parametrize("cookie", ["not-a-token", "x" * 5000, "%00%ff", "'; DROP TABLE sessions"])
def test_a_session_cookie_that_signs_nobody_in_is_ignored_and_dropped(
    browser: Browser, cookie: str
) -> None:
    for path, status in (("/dashboard", 303), ("/login", 200)):
        browser.cookies.set("session_id", cookie)
        response = browser.get(path)
        assert response.status_code == status
        assert 'session_id=""' in response.headers.get("set-cookie", ""), path
        browser.cookies.delete("session_id")


def test_a_revoked_session_cookie_is_dropped(signed_in: Callable[[str, str], Browser]) -> None:
    browser = signed_in("demo", "demo123")
    token = browser.cookies["session_id"]
    assert location(browser.post("/logout", data={"csrf_token": csrf_token(browser)})) == "/login"
    browser.cookies.set("session_id", token)  # a copy kept from before
    response = browser.get("/dashboard")
    assert location(response) == "/login?next=/dashboard"
    assert 'session_id=""' in response.headers["set-cookie"]


def test_guesses_at_once_on_the_page_check_no_more_than_the_limit(
    browser_factory: Callable[[], Browser], live: Backend
) -> None:
    """Nineteen wrong passwords sent through the form at the same moment: no more than the
    limit are checked (each counted before its check), the others answer 429."""
    limit = live.settings.login_max_failures
    browsers = [browser_factory() for _ in range(19)]
    forms = [
        {"username": "demo", "password": "not-the-password", "csrf_token": csrf_token(b, "/login")}
        for b in browsers
    ]
    statuses = at_once(
        browsers, lambda browser, index: browser.post("/login", data=forms[index]).status_code
    )
    checked = password_checks(live.settings, "demo")
    assert checked <= limit, (checked, statuses)
    assert statuses.count(401) == checked and statuses.count(429) == len(browsers) - checked
