"""Cheap checks of the layering, the way a linter would."""

import ast
from pathlib import Path

from fastapi.routing import APIRoute

from app.api.deps import get_current_user_required, get_db, get_policy
from app.api.v1.router import ROUTERS

APP = Path(__file__).resolve().parents[1] / "app"
PUBLIC_API = {"/auth/register", "/auth/login", "/auth/logout"}


def calls_in(path: Path) -> list[tuple[str, int]]:
    """Return (called name, line) for every call in a module; methods as `.name`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            name = f".{func.attr}" if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            found.append((name, node.lineno))
    return found


def test_only_the_session_dependency_commits():
    """No module but the session dependency commits a transaction."""
    offenders = [
        f"{path.relative_to(APP)}:{line}"
        for path in APP.rglob("*.py")
        for name, line in calls_in(path)
        if name == ".commit" and path != APP / "api" / "deps.py"
    ]
    assert offenders == []


def test_no_sql_in_route_modules():
    """Route modules call crud; they never build queries."""
    offenders = [
        f"{path.relative_to(APP)}:{line}"
        for folder in (APP / "api", APP / "routers")
        for path in folder.rglob("*.py")
        for name, line in calls_in(path)
        if name in {"select", "insert", "update", "delete", "text", ".execute", ".scalar"}
    ]
    assert offenders == []


def dependency_calls(route: APIRoute) -> set[object]:
    seen: set[object] = set()
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        seen.add(dependant.call)
        stack.extend(dependant.dependencies)
    return seen


def test_every_api_route_requires_a_user_and_a_transaction():
    """Every /api/v1 route depends on a transaction, a signed-in user and the enforcer."""
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) == 4 + 10 * 5 + 4
    for route in routes:
        calls = dependency_calls(route)
        assert get_db in calls, route.path
        if route.path not in PUBLIC_API:
            assert get_current_user_required in calls, f"{route.methods} {route.path}"
        if not route.path.startswith("/auth/"):
            assert get_policy in calls, f"{route.methods} {route.path} skips the enforcer"
