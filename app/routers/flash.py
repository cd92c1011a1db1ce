"""Flash messages: one page's news for the next, in a signed cookie."""

import base64
import hashlib
import hmac
import json

from fastapi import Request

FLASH_COOKIE = "flash"


def _flash_mac(secret_key: str, payload: str) -> str:
    message = f"flash:{payload}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def flash_cookie(secret_key: str, items: list[dict[str, str]]) -> str:
    """Return the signed cookie value carrying `items` (`<base64 JSON>.<HMAC>`)."""
    payload = base64.urlsafe_b64encode(json.dumps(items).encode()).decode().rstrip("=")
    return f"{payload}.{_flash_mac(secret_key, payload)}"


def take_flash(request: Request) -> list[dict[str, str]]:
    """Return the flash messages the cookie carries; anything malformed shows nothing.

    The cookie is signed by the app (another site or subdomain cannot plant a message), and
    comes from the client all the same: unsigned, nested past any depth (`[[[[...`), not a
    list of objects, or text no page can be encoded with (a lone surrogate) shows nothing.
    """
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw or len(raw) > 4096:
        return []
    payload, _, mac = raw.partition(".")
    expected = _flash_mac(request.app.state.settings.secret_key, payload)
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        return []
    try:
        items = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, RecursionError):
        return []
    if not isinstance(items, list):
        return []
    shown = []
    for item in items[:5]:
        if not isinstance(item, dict):
            continue
        kind, text = str(item.get("kind", "info"))[:20], str(item.get("text", ""))[:300]
        try:
            (kind + text).encode("utf-8")
        except UnicodeEncodeError:
            continue
        shown.append({"kind": kind, "text": text})
    return shown
