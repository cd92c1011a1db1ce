"""The flash cookie comes from the client: whatever it holds, a page renders and drops it."""

import json

import pytest

from tests.html.conftest import Browser
from tests.html.site import page

MALFORMED = {
    "not JSON": "not json",
    "nested deep": "[" * 1000,
    "lone surrogate": '[{"kind": "info", "text": "\\ud800"}]',
    "surrogate kind": '[{"kind": "\\udfff", "text": "hello"}]',
    "an object": '{"kind": "info", "text": "hello"}',
    "numbers": "[1, 2, 3]",
    "too long": json.dumps([{"kind": "info", "text": "x" * 5000}]),
}


@pytest.mark.parametrize("cookie", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_flash_cookie_shows_nothing_and_is_dropped(
    admin_browser: Browser, cookie: str
) -> None:
    admin_browser.cookies.set("flash", cookie)
    response = admin_browser.get("/dashboard")
    assert response.status_code == 200
    assert "flash=" in response.headers.get("set-cookie", "")  # deleted: Max-Age=0
    admin_browser.cookies.delete("flash")
    assert page(admin_browser, "/dashboard").flashes() == []


def test_a_good_flash_is_shown_once_beside_bad_items(admin_browser: Browser) -> None:
    items = [{"kind": "success", "text": "Saved."}, 7, {"kind": "info", "text": "\ud800"}]
    admin_browser.cookies.set("flash", json.dumps(items))
    shown = page(admin_browser, "/dashboard")
    assert shown.flashes() == ["Saved."]
    admin_browser.cookies.delete("flash")
    assert page(admin_browser, "/dashboard").flashes() == []
