"""The flash cookie comes from the client: whatever it holds, a page renders and drops it;
only what the app signed is shown."""

import base64
import hashlib
import hmac
import json

import pytest

from app.routers.flash import flash_cookie
from tests.conftest import Backend
from tests.html.conftest import Browser
from tests.html.site import page


def signed(secret: str, text: str) -> str:
    """Sign any text as the app signs its flash cookie: `<base64 JSON>.<HMAC-SHA256[:32]>`."""
    payload = base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")
    mac = hmac.new(secret.encode(), f"flash:{payload}".encode(), hashlib.sha256).hexdigest()
    return f"{payload}.{mac[:32]}"


MALFORMED = {
    "not JSON": "not json",
    "nested deep": "[" * 1000,
    "lone surrogate": '[{"kind": "info", "text": "\\ud800"}]',
    "surrogate kind": '[{"kind": "\\udfff", "text": "hello"}]',
    "an object": '{"kind": "info", "text": "hello"}',
    "numbers": "[1, 2, 3]",
    "too long": json.dumps([{"kind": "info", "text": "x" * 5000}]),
}


@pytest.mark.parametrize("sign", [False, True], ids=["unsigned", "signed"])
@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_flash_cookie_shows_nothing_and_is_dropped(
    admin_browser: Browser, live: Backend, text: str, sign: bool
) -> None:
    cookie = signed(live.settings.secret_key, text) if sign else text
    admin_browser.cookies.set("flash", cookie)
    response = admin_browser.get("/dashboard")
    assert response.status_code == 200
    assert "flash=" in response.headers.get("set-cookie", "")  # deleted: Max-Age=0
    admin_browser.cookies.delete("flash")
    assert page(admin_browser, "/dashboard").flashes() == []


def test_an_unsigned_or_forged_flash_is_not_shown(admin_browser: Browser, live: Backend) -> None:
    """Another site (or a sibling subdomain) cannot plant "Your password expired" here."""
    items = [{"kind": "error", "text": "Your session expired: sign in at evil.example"}]
    good = flash_cookie(live.settings.secret_key, items)
    for cookie in (
        json.dumps(items),
        flash_cookie("another-secret-key-of-32-bytes-or-more", items),
        good[:-1] + ("0" if good[-1] != "0" else "1"),
        good.split(".")[0],
    ):
        admin_browser.cookies.set("flash", cookie)
        assert page(admin_browser, "/dashboard").flashes() == []
    admin_browser.cookies.set("flash", good)
    assert page(admin_browser, "/dashboard").flashes() == [items[0]["text"]]


def test_a_good_flash_is_shown_once_beside_bad_items(admin_browser: Browser, live: Backend) -> None:
    items = [{"kind": "success", "text": "Saved."}, 7, {"kind": "info", "text": "\ud800"}]
    admin_browser.cookies.set("flash", signed(live.settings.secret_key, json.dumps(items)))
    shown = page(admin_browser, "/dashboard")
    assert shown.flashes() == ["Saved."]
    admin_browser.cookies.delete("flash")
    assert page(admin_browser, "/dashboard").flashes() == []
