"""Route matching that declines whole routers at once."""

from fastapi import APIRouter
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope


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
