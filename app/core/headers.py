"""Security headers on every response (pure ASGI, so refusals and error pages get them too).

- `Content-Security-Policy`: scripts, styles, images, fonts and form targets from this
  origin only, no inline script or style, no plugins, and no framing
  (`frame-ancestors 'none'`, with `X-Frame-Options: DENY` for older browsers). The API
  documentation pages (`/docs`, `/redoc`) load their viewer from its CDN and start it with
  an inline script: their policy allows that CDN and exactly that script, by its hash.
- `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`,
  `Cross-Origin-Opener-Policy: same-origin`.
- `Cache-Control: no-store` on everything but the static files: pages and answers for a
  signed-in user (and sign-in forms with their CSRF token) are never kept by a cache.
- `Strict-Transport-Security` when the request came over HTTPS (behind a proxy, as its
  `X-Forwarded-Proto` says).
"""

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    b"base-uri 'none'; object-src 'none'"
)
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_CSP = (
    f"default-src 'self'; script-src 'self' {DOCS_CDN} {{hashes}}; style-src 'self' {DOCS_CDN}; "
    f"img-src 'self' data: https://fastapi.tiangolo.com; font-src 'self' {DOCS_CDN} "
    "https://fonts.gstatic.com; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc"})
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
HSTS = b"max-age=31536000; includeSubDomains"

COMMON: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def script_hashes(html: bytes) -> str:
    """Return the CSP sources allowing exactly the inline scripts of `html`."""
    found = (hashlib.sha256(script).digest() for script in INLINE_SCRIPT.findall(html))
    return " ".join(f"'sha256-{base64.b64encode(digest).decode()}'" for digest in found)


class SecurityHeaders:
    """Add the headers above to every HTTP response the app sends."""

    def __init__(self, app: ASGIApp, prefix: str = "") -> None:
        self.app = app
        self.static = f"{prefix}/static/"
        self.docs = {f"{prefix}{path}" for path in DOCS_PATHS}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path in self.docs:
            await self._docs(scope, receive, send)
            return
        static = path.startswith(self.static)
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = headers(message, CSP, static=static, https=https)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a documentation page with a policy naming its inline script's hash."""
        start: Message = {}
        body: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
                if not message.get("more_body"):
                    html = b"".join(body)
                    policy = DOCS_CSP.format(hashes=script_hashes(html)).encode()
                    https = scope.get("scheme") == "https"
                    start["headers"] = headers(start, policy, static=False, https=https)
                    await send(start)
                    await send({"type": "http.response.body", "body": html})

        await self.app(scope, receive, keep)


def headers(message: Message, policy: bytes, *, static: bool, https: bool) -> list:
    """Return the response's headers with ours added (a header already set is kept)."""
    present = {name.lower() for name, _ in message.get("headers", [])}
    added = [*COMMON, (b"content-security-policy", policy)]
    if not static:
        added.append((b"cache-control", b"no-store"))
    if https:
        added.append((b"strict-transport-security", HSTS))
    return [*message.get("headers", []), *(item for item in added if item[0] not in present)]
