"""The recipe of docs/adding-a-table.md, applied to a copy of the project, works as written.

The page's code blocks are written into a copy of the tracked files (a block marked
`file=PATH` creates PATH; `insert=app/resources.py` adds its imports at the top and its
entry at the end of `RESOURCES`), and its migration is written by Alembic's autogenerate,
as the page says. The copy's database is made before the new table exists, so the run also
shows that `init_db` gives the seeded roles the new permissions with no data migration.
Then the copy serves the table (API routes behind the enforcer, pages, docs, the audit
log), and the copy's own test suite runs its table walks over it, unedited.
"""

import ast
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from app.core.config import PROJECT_ROOT
from tests.support.catalog import SERVER_URL, scratch_database

# One worker makes the copies, rather than each worker its own.
pytestmark = pytest.mark.xdist_group("recipe")

RECIPE = PROJECT_ROOT / "docs" / "adding-a-table.md"
BLOCK = re.compile(r"```\w+ (file|insert)=(\S+)\n(.*?)```", re.S)


def recipe_blocks() -> list[tuple[str, str, str]]:
    """Return (kind, path, text) of every block the recipe applies, in order."""
    return [(kind, path, text) for kind, path, text in BLOCK.findall(RECIPE.read_text())]


def insert_entry(source: str, block: str) -> str:
    """Add the block's imports after the module's imports and its entry at the end of RESOURCES."""
    imports = [line for line in block.splitlines() if line.startswith(("from ", "import "))]
    entry = "\n".join(
        line for line in block.splitlines() if line and not line.startswith(("from ", "import "))
    )
    head, sep, tail = source.partition("\nRESOURCES: tuple[Resource, ...] = (\n")
    assert sep, "app/resources.py has no RESOURCES tuple"
    body, close, rest = tail.partition("\n)\n")
    last_import = max(i for i, line in enumerate(head.splitlines()) if line.startswith("from "))
    lines = head.splitlines()
    lines[last_import + 1 : last_import + 1] = imports
    return "\n".join(lines) + sep + body + "\n" + entry + close + rest


def apply_recipe(root: Path) -> list[str]:
    """Apply the recipe to the copy at `root`; return the steps (files or folders) it touched."""
    steps: list[str] = []
    for kind, path, text in recipe_blocks():
        target = root / path
        if kind == "file":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        else:
            target.write_text(insert_entry(target.read_text(), text))
        step = str(Path(path).parent) if path.startswith("templates/") else path
        if step not in steps:
            steps.append(step)
    return steps


def remove_recipe(root: Path) -> None:
    """Take the recipe's table out of a copy of a project that has already followed it.

    The test needs the project as it was before the table: the recipe's files and template
    folder are deleted, and its registry entry and the imports of those files are taken out
    of `app/resources.py` (wherever `make format` has sorted them).
    """
    entries = [text for kind, _, text in recipe_blocks() if kind == "insert"]
    named = re.search(r'path="(\w+)"', "".join(entries))
    assert named, "the registry entry of the recipe names no path"
    created: set[str] = set()
    for kind, path, _ in recipe_blocks():
        if kind == "insert":
            continue
        target = root / path
        if path.startswith("templates/"):
            shutil.rmtree(target.parent, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)
            created.add(path.removesuffix(".py").replace("/", "."))
    for generated in (root / "migrations" / "versions").glob(f"*_{named.group(1)}.py"):
        generated.unlink()
    registry = root / "app" / "resources.py"
    lines = registry.read_text().splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []  # (first line, last line, replacement), 1-based
    for node in ast.walk(ast.parse("".join(lines))):
        if isinstance(node, ast.ImportFrom) and node.module:
            kept = [
                alias
                for alias in node.names
                if node.module not in created and f"{node.module}.{alias.name}" not in created
            ]
            if len(kept) < len(node.names):
                again = ast.ImportFrom(node.module, kept, node.level) if kept else None
                text = ast.unparse(again) + "\n" if again else ""
                edits.append((node.lineno, node.end_lineno or node.lineno, text))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "Resource"
            and any(
                word.arg == "path" and getattr(word.value, "value", None) == named.group(1)
                for word in node.keywords
            )
        ):
            edits.append((node.lineno, node.end_lineno or node.lineno, ""))
    for first, last, text in sorted(edits, reverse=True):
        lines[first - 1 : last] = [text]
    registry.write_text("".join(lines))


def copy_project(destination: Path) -> Path:
    """Copy the tracked files of the project (what a clone holds) to `destination`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = PROJECT_ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def environment(root: Path, database_url: str) -> dict[str, str]:
    """Return the copy's environment: its own code first on the path, its own database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("POSTGRES_") and key not in ("DATABASE_URL", "SQLITE_PATH")
    }
    return env | {
        "PYTHONPATH": str(root),
        "DATABASE_URL": database_url,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "ENVIRONMENT": "development",
    }


def run(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the copy's own code (`python -m ...` from its root imports its `app`)."""
    return subprocess.run(
        [sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=180
    )


def follow_recipe(root: Path, url: str) -> tuple[dict[str, str], list[str]]:
    """Make the copy's database at `url` before the new table exists, then follow the
    recipe: write its blocks and let Alembic write its migration. Return the copy's
    environment and the steps done by hand."""
    env = environment(root, url)
    before = run(root, env, "-m", "app.init_db")
    assert before.returncode == 0, before.stderr
    steps = apply_recipe(root)
    generated = run(root, env, "-m", "alembic", "revision", "--autogenerate", "-m", "invoices")
    assert generated.returncode == 0, generated.stderr
    return env, steps


def fresh_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_project(tmp_path_factory.mktemp("copy"))
    remove_recipe(root)
    return root


@pytest.fixture(scope="module", params=["sqlite", "postgresql"] if SERVER_URL else ["sqlite"])
def project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, dict[str, str], list[str]]]:
    """A copy of the project that followed the recipe on each backend, and its steps."""
    root = fresh_copy(tmp_path_factory)
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{root / 'var' / 'app.db'}"
        else:
            assert SERVER_URL is not None
            url = stack.enter_context(scratch_database(SERVER_URL, "recipe"))
        yield root, *follow_recipe(root, url)


def test_the_recipe_is_three_files_at_most(project: tuple[Path, dict[str, str], list[str]]) -> None:
    """The model and the registry entry by hand, and the migration Alembic wrote, which
    imports nothing of the app (the copy's architecture test checks every revision)."""
    root, _, steps = project
    assert steps == ["app/models/invoice.py", "app/resources.py"], steps
    (migration,) = (root / "migrations" / "versions").glob("*_invoices.py")
    text = migration.read_text()
    assert "op.create_table(" in text and "from app" not in text and "import app" not in text


def test_the_new_table_is_served_with_its_permissions(
    project: tuple[Path, dict[str, str], list[str]],
) -> None:
    """init_db migrates and grants the seeded roles the new permissions; the API, pages and
    docs follow, every rule of the model holds, and a customer with invoices is kept."""
    root, env, _ = project
    upgraded = run(root, env, "-m", "app.init_db")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "permission invoice:read:all" in upgraded.stdout, upgraded.stdout
    lint = run(root, env, "-m", "app.cli", "lint")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    who = run(root, env, "-m", "app.cli", "who-can", "invoice:delete:all")
    assert "admin" in who.stdout and "demo" not in who.stdout, who.stdout
    own = run(root, env, "-m", "app.cli", "who-can", "invoice:read:own")
    assert "demo" in own.stdout, own.stdout  # the user role's default grant, declared
    docs = run(root, env, "scripts/gen_docs.py")
    assert docs.returncode == 0, docs.stderr
    assert "## Invoices" in (root / "docs" / "api.md").read_text()
    assert "CREATE TABLE invoices" in (root / "docs" / "schema.md").read_text()

    with serve(root, env) as base:
        admin = signed_in(base, "admin", "admin123")
        customer = admin.post("/api/v1/customers", json={"name": "Billed"}).json()
        body = {"number": "INV-1", "amount": "12.50", "customer_id": customer["id"]}
        created = admin.post("/api/v1/invoices", json=body | {"issued_on": "2026-12-01"})
        assert created.status_code == 201, created.text
        invoice = created.json()
        assert invoice["status"] == "draft" and invoice["currency"] == "EUR"
        assert invoice["owner_user_id"] is not None
        refused = {
            "number": "INV-1",  # taken: 409
            "amount": "-1",
            "currency": "eur",
            "status": "lost",
            "due_on": "2026-11-01",
        }
        for field, value in refused.items():
            sent = body | {"number": "INV-2", "issued_on": "2026-12-01", field: value}
            answer = admin.post("/api/v1/invoices", json=sent)
            assert answer.status_code == (409 if field == "number" else 422), (field, answer.text)
        assert admin.get("/api/v1/invoices").json()["total"] == 1
        url = f"/api/v1/invoices/{invoice['id']}"
        assert admin.put(url, json={"status": "paid"}).json()["status"] == "paid"
        assert admin.get("/invoices", headers={"accept": "text/html"}).status_code == 200
        assert admin.get(f"/invoices/{invoice['id']}").status_code == 200
        listed = admin.get(f"/customers/{customer['id']}").text
        assert "INV-1" in listed  # the customer's page lists its invoices
        kept = admin.delete(f"/api/v1/customers/{customer['id']}")
        assert kept.status_code == 409, kept.text
        assert "1 invoice still refers to it" in kept.json()["detail"]
        demo = signed_in(base, "demo", "demo123")
        assert demo.get("/api/v1/invoices").json()["total"] == 0  # none of theirs
        assert demo.get(url).status_code == 404
        assert admin.delete(url).status_code == 204
        audit = admin.get("/api/v1/audit", params={"resource": "invoices"}).json()["items"]
    assert_audited(audit, invoice["id"])
    assert_reviewed(root, env)


# The copy's own tests that walk every registered table, run over the new one; and those
# that check the whole project (its architecture, models against migrations, the docs).
TABLE_WALKS = (
    "tests/api/test_authorization_matrix.py",
    "tests/api/test_bad_input_constraints.py",
    "tests/api/test_bad_input_fields.py",
    "tests/api/test_bad_input_urls.py",
    "tests/api/test_export.py",
    "tests/api/test_messages.py",
    "tests/html/test_forms_invalid.py",
    "tests/html/test_names.py",
)
WHOLE = (
    "tests/api/test_list_filters.py",  # these walk every table in one test
    "tests/html/test_access.py",
    "tests/policy/test_filter_matches_enforce.py",
    "tests/test_architecture.py",
    "tests/db/test_models_match_migrations.py",
    "tests/docs/test_schema_doc.py",
    "tests/docs/test_paths.py",
)


def test_the_copys_own_suite_covers_the_new_table(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """No test is edited for a new table: the copy's table walks pick it up from the
    registry and pass, and so do its checks of the whole project (on its embedded default,
    once: its own suite makes its own databases)."""
    root = fresh_copy(tmp_path_factory)
    env, _ = follow_recipe(root, f"sqlite:///{root / 'var' / 'app.db'}")
    docs = run(root, env, "scripts/gen_docs.py")
    assert docs.returncode == 0, docs.stderr
    for git in (["init", "-q"], ["add", "-A"]):  # a clone, as a contributor's is
        subprocess.run(["git", *git], cwd=root, check=True, capture_output=True)
    suite = {key: value for key, value in env.items() if key not in ("DATABASE_URL", "ENVIRONMENT")}
    suite.pop("TEST_DATABASE_URL", None)
    pytest_args = ("-m", "pytest", "-q", "-x", "-p", "no:cacheprovider")
    walks = run(root, suite, *pytest_args, "-rA", "-k", "invoice", *TABLE_WALKS)
    assert walks.returncode == 0, walks.stdout[-3000:] + walks.stderr[-2000:]
    walked = {
        line.split("::")[0].split()[-1] for line in walks.stdout.splitlines() if "PASSED" in line
    }
    assert walked == set(TABLE_WALKS), walked  # each walk ran over the new table
    whole = run(root, suite, *pytest_args, *WHOLE)
    assert whole.returncode == 0, whole.stdout[-3000:] + whole.stderr[-2000:]


def assert_audited(entries: list[dict[str, object]], invoice_id: int) -> None:
    """The new table's writes are in the audit log, with no code of its own."""
    assert [(e["event"], e["record_id"], e["actor_name"]) for e in entries] == [
        ("deleted", invoice_id, "admin"),
        ("updated", invoice_id, "admin"),
        ("created", invoice_id, "admin"),
    ]
    assert entries[1]["changes"] == {"status": ["draft", "paid"]}


def assert_reviewed(root: Path, env: dict[str, str]) -> None:
    """`policy report` lists the new permissions; `policy test` checks cases about them
    (the shipped file, plus the recipe's own example case)."""
    report = run(root, env, "-m", "app.cli", "report", "--format", "json")
    assert report.returncode == 0, report.stderr
    admin = next(u for u in json.loads(report.stdout)["users"] if u["user"] == "admin")
    held = {p["permission"]: p["roles"] for p in admin["permissions"]}
    assert held["invoice:delete:all"] == ["admin"]
    example = re.search(r"```toml\n(.*?)```", RECIPE.read_text(), re.S)
    assert example, "the recipe shows a policy test case"
    cases = root / "policy" / "tests.toml"
    cases.write_text(
        cases.read_text()
        + example.group(1)
        + '\n[[case]]\nrole = "admin"\npermission = "invoice:delete"\n'
        + 'record = "stranger"\nexpect = "allow"\n'
    )
    tested = run(root, env, "-m", "app.cli", "test", "policy/tests.toml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    # A case the stored policy does not meet fails, and is named.
    wrong = example.group(1).replace('expect = "deny"', 'expect = "allow"')
    cases.write_text(cases.read_text().replace(example.group(1), wrong))
    failed = run(root, env, "-m", "app.cli", "test", "policy/tests.toml")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "(users do not read others' invoices)" in failed.stdout


def signed_in(base: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return client


class serve:
    """Serve the copy with uvicorn on a free port until the block ends."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root, self.env = root, env

    def __enter__(self) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return base
            except httpx.HTTPError:
                time.sleep(0.1)
        self.process.kill()
        raise RuntimeError(self.process.stderr.read().decode() if self.process.stderr else "")

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
