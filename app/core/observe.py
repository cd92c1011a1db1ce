"""What each request leaves behind: its count and time in the metrics (by route template)
and, with JSON logs, its access line.

Pure ASGI, just outside the routes (every error handler has answered by then; an error none
answers is counted as the 500 the server then sends). The route is the template the router
matched (`/api/v1/tasks/{id}`), never the raw path, so no id becomes a label or a field; a
path no route matches is `unmatched`.
"""

import logging
import time
from typing import Any

from starlette._utils import get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import metrics

access = logging.getLogger("app.access")
UNMATCHED = "unmatched"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def route_of(scope: Scope, prefixes: tuple[str, ...] = ()) -> str:
    """The template of the route that answered (`unmatched` when none did), with the prefix
    its router was included under (a route of the API knows itself as `/tasks/{id}`)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not path:
        return UNMATCHED
    asked = get_route_path(scope)
    for prefix in prefixes:
        if asked.startswith(prefix + "/") and not path.startswith(prefix + "/"):
            return prefix + path
    return path


class Observed:
    """Count and time every HTTP request; with `log_requests`, write its access line."""

    def __init__(
        self, app: ASGIApp, log_requests: bool = False, prefixes: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.log_requests = log_requests
        self.prefixes = prefixes  # those routers were included under

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        sent = 0

        async def observed_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            seconds = time.perf_counter() - started
            method, route = scope["method"], route_of(scope, self.prefixes)
            metrics.answered(method, route, status, seconds)
            if self.log_requests:
                self._log(scope, method, route, status, seconds, sent)

    @staticmethod
    def _log(scope: Scope, method: str, route: str, status: int, seconds: float, sent: int) -> None:
        client = scope.get("client")
        fields: dict[str, Any] = {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(1000 * seconds, 2),
            "client": client[0] if client else None,
            "bytes": sent,
        }
        level = logging.ERROR if status >= 500 else logging.INFO
        access.log(level, "%s %s %d", method, route, status, extra={"fields": fields})
        if method in WRITES and status == 403:
            denied = {"event": "write_denied", "method": method, "route": route}
            access.warning("write denied: %s %s", method, route, extra={"fields": denied})
