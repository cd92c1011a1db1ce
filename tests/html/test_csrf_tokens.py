"""CSRF tokens over a session's life: carried in the `X-CSRF-Token` header, replaced at
login, new for each login, refused once their session logged out."""

from collections.abc import Callable

from app.core import csrf
from tests.conftest import Backend
from tests.html.conftest import Browser
from tests.html.site import (
    assert_html,
    csrf_token,
    dump,
    location,
    page,
)
from tests.support.factories import unique
from tests.support.records import Records


def test_the_header_carries_the_token_for_a_form_post(
    admin_browser: Browser, records: Records
) -> None:
    """Accept the token in `X-CSRF-Token` on a POST too (the script's way)."""
    tag = records.create("tags")
    response = admin_browser.post(
        f"/tags/{tag['id']}/delete",
        data={"confirm": "1"},
        headers={csrf.HEADER: csrf_token(admin_browser)},
    )
    assert location(response) == "/tags"


def test_login_replaces_the_anonymous_token(
    browser: Browser, live: Backend, records: Records
) -> None:
    """Refuse the login form's anonymous token once the visitor is signed in."""
    anonymous = csrf_token(browser, "/login")
    secret = browser.cookies.get(csrf.ANON_COOKIE)
    assert secret
    response = browser.post(
        "/login", data={"username": "admin", "password": "admin123", "csrf_token": anonymous}
    )
    assert location(response) == "/dashboard"
    assert browser.cookies.get(csrf.ANON_COOKIE) is None
    signed_in = csrf_token(browser)
    assert signed_in != anonymous
    # Even with the anonymous cookie put back, the old token is refused.
    browser.cookies.set(csrf.ANON_COOKIE, secret)
    before = dump(live.settings)
    tag_form = {"name": unique("tag"), "color": "#112233", "csrf_token": anonymous}
    assert browser.post("/tags", data=tag_form).status_code == 403
    assert browser.post("/logout", data={"csrf_token": anonymous}).status_code == 403
    assert dump(live.settings) == before
    assert page(browser, "/dashboard").csrf_token == signed_in
    assert location(browser.post("/logout", data={"csrf_token": signed_in})) == "/login"


def test_a_new_login_gets_a_new_token(signed_in: Callable[[str, str], Browser]) -> None:
    """Give two logins of one user different tokens, each stable within its session."""
    first, second = signed_in("admin", "admin123"), signed_in("admin", "admin123")
    token = csrf_token(first)
    assert token != csrf_token(second)
    assert csrf_token(first, "/tags") == token
    assert page(first, "/tags/new").form("/tags").data()["csrf_token"] == [token]


def test_a_logged_out_sessions_token_is_refused(
    admin_browser: Browser, browser_factory: Callable[[], Browser], live: Backend
) -> None:
    """Refuse a token after its session logged out, even with the old cookie."""
    token = csrf_token(admin_browser)
    cookie = admin_browser.cookies.get("session_id")
    assert location(admin_browser.post("/logout", data={"csrf_token": token})) == "/login"
    replay = browser_factory()
    replay.cookies.set("session_id", cookie or "")
    before = dump(live.settings)
    response = replay.post("/tags", data={"name": "x", "csrf_token": token})
    assert_html(response, 403)
    assert dump(live.settings) == before
