"""Route matching that declines whole routers at once, and the API's body rules."""

from collections import defaultdict
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# What FastAPI answers (400) when json.loads fails outright: bytes that are not UTF-8, a
# nesting past Python's recursion limit, a number of more digits than int() reads.
UNPARSED_BODY = "There was an error parsing the body"
NOT_JSON = "Send the request body as JSON (Content-Type: application/json)"
UNDECODABLE = {"loc": ["body"], "msg": "Body is not decodable JSON", "type": "json_invalid"}


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class JSONRoute(APIRoute):
    """An API route whose request body, if any, must be JSON.

    A body of another type (what a cross-site HTML form can send: `text/plain`,
    `application/x-www-form-urlencoded`, `multipart/form-data`) is refused with 415 before
    anything reads it as input, so a cookie-signed request from another site's form never
    acts; a JSON body that cannot be decoded at all is a 422 like any malformed JSON.
    """

    # Every method served at each path of the API's routes, for the Allow header of a 405
    # (each method is a route of its own; Starlette would name only the first one matched).
    methods_at: ClassVar[dict[str, set[str]]] = defaultdict(set)

    def __init__(self, path: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(path, *args, **kwargs)
        JSONRoute.methods_at[self.path].update(self.methods or ())

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            allowed = ", ".join(sorted(JSONRoute.methods_at[self.path]))
            raise HTTPException(status_code=405, headers={"Allow": allowed})
        await super().handle(scope, receive, send)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def json_only(request: Request) -> Response:
            writes = request.method in WRITE_METHODS
            if (
                writes
                and await request.body()
                and not is_json(request.headers.get("content-type", ""))
            ):
                return JSONResponse({"detail": NOT_JSON}, status_code=415)
            try:
                return await handler(request)
            except HTTPException as exc:
                if exc.status_code != 400 or exc.detail != UNPARSED_BODY:
                    raise
                return JSONResponse({"detail": [UNDECODABLE]}, status_code=422)

        return json_only


class PathGuard(APIRouter):
    """Holds one router whose routes all live under `path`, and declines any other path
    with one string comparison.

    FastAPI tries the routes of every included router in turn, one regular expression
    each; with a dozen routes per table in the API and the pages, matching a request took
    longer than the Python work of serving it.
    """

    def __init__(self, path: str, router: APIRouter) -> None:
        # The router's routes themselves (their paths already carry its prefix), not the
        # router included: each level of inclusion is matched again on every request.
        super().__init__(routes=router.routes)
        self.path = path

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = get_route_path(scope)
        if path != self.path and not path.startswith(self.path + "/"):
            return Match.NONE, {}
        return super().matches(scope)
