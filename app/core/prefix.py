"""Serve under `URL_PREFIX` behind a proxy that strips it, or one that passes it on."""

from urllib.parse import quote

from starlette.types import ASGIApp, Receive, Scope, Send


class UrlPrefix:
    """Give every request the prefix as its ASGI `root_path`, as `uvicorn --root-path` does.

    A path without the prefix (the proxy stripped it) gets it put back in front, so the
    request's URL is the one the visitor used; routing strips `root_path` again either way.
    The OpenAPI page then loads `<prefix>/openapi.json`, whose `servers` names the prefix.
    """

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.prefix and scope["type"] in ("http", "websocket"):
            scope = dict(scope)
            path: str = scope["path"]
            if path != self.prefix and not path.startswith(self.prefix + "/"):
                scope["path"] = self.prefix + path
                if scope.get("raw_path") is not None:
                    scope["raw_path"] = quote(self.prefix).encode("ascii") + scope["raw_path"]
            scope["root_path"] = self.prefix
        await self.app(scope, receive, send)
