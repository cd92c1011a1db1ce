"""Every route the app serves, found by walking its routers (included routers too)."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.dependencies.models import Dependant

from app.main import create_app
from app.routers.errors import API_PATHS
from tests.support.database import test_settings

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Served:
    """One method of one served path, and what it depends on (None: a plain route)."""

    method: str
    path: str
    dependant: Dependant | None


def _walk(routes: Iterable[Any]) -> Iterator[Served]:
    for route in routes:
        # FastAPI 0.165 keeps an included router as one lazy entry; expand it as served.
        if hasattr(route, "effective_candidates"):
            yield from _walk(route.effective_candidates())
            continue
        if hasattr(route, "original_router"):
            yield from _walk(route.original_router.routes)
            continue
        if hasattr(route, "routes") and getattr(route, "path", None) is not None:
            # A mount: its own routes sit under its path.
            for inner in _walk(route.routes):
                yield Served(inner.method, route.path + inner.path, inner.dependant)
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            yield Served(method, route.path, getattr(route, "dependant", None))


def served_routes(directory: Path) -> list[Served]:
    """Return every (method, path) the application built by `create_app` answers."""
    path = directory / "never-opened.db"  # the engines connect lazily: nothing is opened
    app = create_app(test_settings(database_url=f"sqlite:///{path}", sqlite_path=path))
    return list(_walk(app.router.routes))


def html_routes(directory: Path) -> list[Served]:
    """Return the routes of the HTML interface: everything but the API and operations."""
    return [r for r in served_routes(directory) if not (r.path + "/").startswith(API_PATHS)]


def calls(dependant: Dependant) -> Iterator[Any]:
    """Yield every callable a dependant depends on, at any depth."""
    for sub in dependant.dependencies:
        yield sub.call
        yield from calls(sub)
