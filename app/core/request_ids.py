"""A request id on every request: the client's `X-Request-ID` when it is a sane one, else a
new one; echoed in the response and written into the audit log's entries."""

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.logs import REQUEST_ID

HEADER = b"x-request-id"
SANE = re.compile(rb"[A-Za-z0-9._\-]{1,64}")


class RequestIds:
    """Put the request's id in `scope["state"]["request_id"]` and the response's header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(HEADER, b"")
        request_id = given if SANE.fullmatch(given) else uuid.uuid4().hex.encode()
        scope.setdefault("state", {})["request_id"] = request_id.decode()
        REQUEST_ID.set(request_id.decode())  # what every log line of the request names

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (HEADER, request_id)]
            await send(message)

        await self.app(scope, receive, send_with_id)
