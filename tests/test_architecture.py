"""Cheap checks of the layering, the way a linter would."""

import ast
import inspect
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute

from app.api.access import ReadableRecord
from app.api.identity import get_access, get_login, get_visitor
from app.api.transaction import get_db
from app.api.v1.router import ROUTERS
from app.resources import RESOURCES

APP = Path(__file__).resolve().parents[1] / "app"
PUBLIC_API = {"/auth/register", "/auth/login", "/auth/token", "/auth/logout"}


def calls_in(path: Path) -> list[tuple[str, int]]:
    """Return (called name, line) for every call in a module; methods as `.name`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            name = f".{func.attr}" if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            found.append((name, node.lineno))
    return found


def test_one_commit_site():
    """One call in the app commits a transaction: `commit` in the data layer's transaction
    module, which the session dependency and the services call."""
    commits = [
        f"{path.relative_to(APP)}:{line}"
        for path in APP.rglob("*.py")
        for name, line in calls_in(path)
        if name == ".commit"
    ]
    assert len(commits) == 1, commits
    assert commits[0].startswith("crud/transaction.py:"), commits


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
    # auth (5, and its explanation of a decision), the audit log, five routes per resource
    # that has schemas to write, and DELETE /sessions
    generic = sum(3 if res.create_schema is None else 5 for res in RESOURCES)
    assert len(routes) == 5 + 1 + 1 + generic + 1
    for route in routes:
        calls = dependency_calls(route)
        assert get_db in calls, route.path
        # `get_access` resolves the signed-in user (401 without one) and the enforcer at once;
        # `ReadableRecord` does the same through `resolve_visitor`, with the record.
        access = {call for call in calls if call is get_access or readable_record(call)}
        if route.path not in PUBLIC_API:
            assert access or calls & {get_visitor, get_login}, f"{route.methods} {route.path}"
        if not route.path.startswith("/auth/"):
            assert access, f"{route.methods} {route.path} skips the enforcer"


def readable_record(call: object) -> bool:
    return getattr(call, "__qualname__", "").startswith(f"{ReadableRecord.__name__}.")


def test_every_route_resolves_its_caller_once():
    """One resolution of the caller per request: a route depends on `get_login` (which
    FastAPI calls once, whatever depends on it: `get_visitor`, the CSRF check) or resolves
    the caller with its record (`ReadableRecord`), never both."""
    from app.main import create_app

    for route in api_routes(create_app().routes):
        calls = dependency_calls(route)
        resolvers = [call for call in calls if call is get_login or readable_record(call)]
        assert len(resolvers) <= 1, f"{route.methods} {route.path}: {resolvers}"


ROOT = APP.parent
TEXT_SUFFIXES = {".py", ".md", ".ini", ".toml", ".cfg", ".conf", ".html", ".sh", ".mako", ""}


def tracked_text_files() -> list[Path]:
    """Return the repository's tracked text files (what a clone holds)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    files = [ROOT / name for name in listed.split("\0") if name]
    return [p for p in files if p.is_file() and p.suffix in TEXT_SUFFIXES]


def test_nothing_reads_outside_the_repository():
    """A clone stands alone: no file names a path that leaves it (`../x`, `shared/`)."""
    offenders = []
    for path in tracked_text_files():
        text = path.read_text(errors="replace")
        for match in re.finditer(r"(?:\.\./)+[\w.\-/]*", text):
            target = (path.parent / match.group()).resolve()
            if not target.is_relative_to(ROOT):
                offenders.append(f"{path.relative_to(ROOT)}: {match.group()}")
        for pattern in (r"\bshared/schema\b", r"PROJECT_ROOT\.parent\b", r"\.\.[/\\]shared\b"):
            offenders += [
                f"{path.relative_to(ROOT)}: {m.group()}" for m in re.finditer(pattern, text)
            ]
    assert offenders == []


def imported_modules(path: Path, *, typing_only: bool = True) -> list[tuple[str, int]]:
    """Return (module, line) for every import in a module, relative ones resolved; without
    `typing_only`, those under `if TYPE_CHECKING:` (for annotations only) left out."""
    tree = ast.parse(path.read_text())
    if not typing_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                node.body = []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, node.lineno))
            found += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return found


LAYERS = {  # a package and what it must not import
    # the enforcer reads the policy tables' models; nothing in core reaches above them
    "core": (
        "app.schemas",
        "app.crud",
        "app.hooks",
        "app.resources",
        *["app.services", "app.api", "app.routers", "app.cli"],
    ),
    "models": (
        "app.schemas",
        "app.crud",
        "app.hooks",
        "app.resources",
        "app.services",
        "app.api",
        "app.routers",
    ),
    "schemas": ("app.crud", "app.hooks", "app.resources", "app.services", "app.api", "app.routers"),
    "crud": ("app.hooks", "app.resources", "app.services", "app.api", "app.routers"),
    # the registry names the hooks: they import neither it nor what is built on it
    "hooks": ("app.resources", "app.services", "app.api", "app.routers"),
    "services": ("app.api", "app.routers", "fastapi", "starlette"),
    "api": ("app.routers",),
    "cli": ("app.api", "app.routers", "app.main", "fastapi", "starlette"),
}


def test_layers_import_only_what_is_below_them():
    """core < models < schemas < crud < hooks < registry < services < api < routers (and
    the command line beside the web): none imports upward; the services know no HTTP."""
    offenders = [
        f"{path.relative_to(APP)}:{line} imports {module}"
        for package, banned in LAYERS.items()
        for path in (APP / package).rglob("*.py")
        for module, line in imported_modules(path, typing_only=False)
        if module.startswith(banned)
    ]
    assert offenders == []


def test_deps_holds_only_aliases():
    """`app/api/deps.py` declares `Annotated` aliases; the functions live in their modules."""
    tree = ast.parse((APP / "api" / "deps.py").read_text())
    defined = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    assert defined == []


def test_routes_reach_data_through_crud_only():
    """No route module imports SQLAlchemy's query builders or a session factory."""
    offenders = [
        f"{path.relative_to(APP)}:{line} imports {module}"
        for folder in (APP / "api", APP / "routers")
        for path in folder.rglob("*.py")
        for module, line in imported_modules(path)
        if module
        in {"sqlalchemy.select", "sqlalchemy.text", "sqlalchemy.update", "sqlalchemy.delete"}
    ]
    assert offenders == []


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Yield every APIRoute, looking inside included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def test_every_dependency_and_route_is_async():
    """A plain `def` dependency or route runs in a worker thread: a hop per request."""
    from app.main import create_app

    routes = list(api_routes(create_app().routes))
    assert len(routes) > 50
    sync: set[str] = set()
    for route in routes:
        for call in dependency_calls(route):
            if call is None or isinstance(call, type):
                continue
            if not (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)):
                sync.add(f"{call.__module__}.{call.__qualname__}")
    assert not sync, sorted(sync)


# What a session's `info` may hold: the write path's transaction-scoped flags (whether the
# transaction changed the policy and whose lines, the revision its sync wrote, who the audit
# log names for it). Request state (the caller, the policy, a record) travels as values instead.
TRANSACTION_FLAGS = {"POLICY_DIRTY", "POLICY_SCOPE", "POLICY_WRITTEN", "ACTOR"}


def of_session(info: ast.Attribute) -> bool:
    """Whether `x.info` is a session's (`session.info`, `self.session.info`), not a column's."""
    return ast.unparse(info.value).split(".")[-1].endswith("session")


def info_keys(path: Path) -> list[tuple[str, int]]:
    """Return (key expression, line) for each use of a session's `.info` in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        target = None
        if isinstance(node, ast.Subscript):
            target, key = node.value, node.slice
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            target, key = node.func.value, node.args[0]
        if isinstance(target, ast.Attribute) and target.attr == "info" and of_session(target):
            found.append((ast.unparse(key).split(".")[-1], node.lineno))
    return found


def test_no_request_state_in_session_info():
    """`session.info` holds transaction flags only, never the caller, policy or record."""
    uses = [
        (f"{path.relative_to(APP)}:{line}", key)
        for path in APP.rglob("*.py")
        for key, line in info_keys(path)
    ]
    assert uses, "the check found no use of session.info at all"
    assert [use for use in uses if use[1] not in TRANSACTION_FLAGS] == []


def test_no_module_in_app_is_over_400_lines():
    """One concept per module: past 400 lines a module holds several."""
    long = {
        str(path.relative_to(APP)): length
        for path in APP.rglob("*.py")
        if (length := len(path.read_text().splitlines())) > 400
    }
    assert long == {}


def test_the_policy_command_imports_no_web_layer():
    """`policy` and every one of its commands start without FastAPI, Starlette or the routes."""
    commands = sorted(f"app.cli.{path.stem}" for path in (APP / "cli").glob("[!_]*.py"))
    assert len(commands) >= 5
    script = (
        f"import sys, {', '.join(commands)}\n"
        "web = ('fastapi', 'starlette', 'app.api', 'app.routers', 'app.main')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in web or m.startswith(web)))"
    )
    found = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "[]", found.stdout


# The session dependency opens the one transaction: the only route-layer module that
# reaches the data layer itself.
TRANSACTION_BOUNDARY = {"api/transaction.py"}
DATA_LAYER = ("app.crud", "app.models", "sqlalchemy")
ALLOWED_FROM_IT = ("sqlalchemy.ext.asyncio", "sqlalchemy.exc")


def test_route_modules_reach_the_data_only_through_the_services():
    """`app/api` and `app/routers` hold routes and their dependencies: they import no crud
    module, no model and no query builder (a session is passed on, never used)."""
    offenders = [
        f"{path.relative_to(APP)}:{line} imports {module}"
        for folder in (APP / "api", APP / "routers")
        for path in folder.rglob("*.py")
        if str(path.relative_to(APP)) not in TRANSACTION_BOUNDARY
        for module, line in imported_modules(path)
        if (module.startswith(DATA_LAYER) or module in ("app.crud", "app.models"))
        and not module.startswith(ALLOWED_FROM_IT)
    ]
    assert offenders == []


def compared_models(node: ast.Compare) -> set[str]:
    """The bare names a comparison compares (`x is User`, `m in (User, Role)`), not the
    columns it reads (`User.id == 3`)."""
    found = set()
    for part in (node.left, *node.comparators):
        items = part.elts if isinstance(part, ast.Set | ast.Tuple | ast.List) else [part]
        found |= {item.id for item in items if isinstance(item, ast.Name)}
    return found


def model_names() -> set[str]:
    from app.core.database import Base

    return {mapper.class_.__name__ for mapper in Base.registry.mappers}


def test_no_model_is_special_cased_outside_its_declaration():
    """What is particular to a table is declared on its registry entry (`app/resources.py`,
    with its hooks in `app/hooks/`): no generic code compares a model (`res.model is User`,
    `model in {...}`)."""
    models = model_names()
    assert {"User", "Role", "Task"} <= models
    declared = {APP / "resources.py", APP / "models", APP / "hooks"}
    offenders = []
    for path in APP.rglob("*.py"):
        if path in declared or path.parent in declared:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and compared_models(node) & models:
                offenders.append(f"{path.relative_to(APP)}:{node.lineno}")
    assert offenders == []


def test_test_data_names_registered_resources():
    """The per-resource test data (`tests/support/records.py`) names registered tables only."""
    from tests.support.records import CHANGES, PARENTS

    assert set(PARENTS) | set(CHANGES) <= {res.path for res in RESOURCES}


def test_migrations_never_import_the_app():
    """A revision is history: it imports nothing of `app/`, whose models move on."""
    migrations = ROOT / "migrations"
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in [migrations / "helpers.py", *(migrations / "versions").glob("*.py")]
        for module, line in imported_modules(path)
        if module == "app" or module.startswith("app.")
    ]
    assert offenders == []
