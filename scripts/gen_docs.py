"""Write the generated parts of the docs, so they cannot drift from the code.

- `docs/schema.md`: the SQL the Alembic migrations run on PostgreSQL (`alembic upgrade head
  --sql`), table by table, with an entity-relationship diagram from the models' foreign keys.
- `docs/tech-spec.md`, between `generated:` markers: the default roles, their permissions
  and the default accounts, from `app/init_db.py`, and the Casbin model file.
- `docs/api.md`, between the `generated:resource:<path>` markers: each resource's fields,
  limits, list options and answer, from the registry and its pydantic schemas. A resource
  the page lacks gets a section of its own, with curl examples of each of its routes made
  from its schemas (`generated:examples:<path>`), so every route stays documented and run.

- `docs/architecture.md`, between the `generated:modules` markers: every module of `app/`,
  layer by layer, with the first sentence of its docstring.

Run `make docs` (or `python scripts/gen_docs.py`); with `--check` nothing is written and the
exit status is 1 when a file is not what the code generates (the docs tests run this).
"""

import argparse
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

sys.path.insert(0, str(Path(__file__).resolve().parent))
from doc_sections import fill, marker
from docs_api import render_examples, render_resource, with_new_sections

from app.core.config import PROJECT_ROOT as ROOT
from app.core.database import Base
from app.core.permissions import ACTIONS, SCOPES
from app.init_db import DEFAULT_GROUPS, DEFAULT_USERS, ROLE_DESCRIPTIONS, default_role_permissions
from app.resources import PERMISSION_MODELS, RESOURCES

SCHEMA_DOC = ROOT / "docs/schema.md"
SPEC_DOC = ROOT / "docs/tech-spec.md"
API_DOC = ROOT / "docs/api.md"
ARCH_DOC = ROOT / "docs/architecture.md"
# The packages of app/, in layer order, and the registry between the hooks and the services.
LAYER_ORDER = ("core", "models", "schemas", "crud", "hooks", "resources.py", "services")
LAYER_ORDER += ("api", "routers", "cli")
OWNER_COLUMNS = ("owner_user_id", "owner_group_id")
EXTENSIONS = "extensions"  # the section of `CREATE EXTENSION` statements, run first


def table_note(name: str) -> str:
    """Return what a table is for: its model's docstring (or a link table's `info["doc"]`)."""
    if name == EXTENSIONS:
        return "Not a table: the PostgreSQL extensions the migrations enable, run first."
    table = Base.metadata.tables.get(name)
    if table is None:
        raise ValueError(f"the migrations create table {name!r}, which no model maps")
    mapper = next((m for m in Base.registry.mappers if m.local_table is table), None)
    doc = mapper.class_.__doc__ if mapper is not None else table.info.get("doc")
    if not doc:
        where = f"the model {mapper.class_.__name__}" if mapper else f"Table({name!r}, info=...)"
        raise ValueError(f"table {name!r} has no description: give {where} a docstring")
    return " ".join(doc.split())


@dataclass
class TableSql:
    """The statements the migrations run for one table, in their order."""

    name: str
    statements: list[str] = field(default_factory=list)


def migration_sql() -> str:
    """Return the SQL `alembic upgrade head --sql` emits for PostgreSQL."""
    buffer = io.StringIO()
    config = Config(str(ROOT / "alembic.ini"), output_buffer=buffer)
    config.attributes["configure_logger"] = False
    config.attributes["dialect_name"] = "postgresql"
    command.upgrade(config, "head", sql=True)
    return buffer.getvalue()


def _statements(sql: str) -> list[str]:
    """Split the script into statements, without Alembic's bookkeeping and comments."""
    statements = []
    for chunk in sql.split(";\n"):
        lines = [line.rstrip() for line in chunk.strip().splitlines()]
        lines = [line for line in lines if line and not line.startswith("--")]
        statement = "\n".join(lines)
        if not statement or statement in ("BEGIN", "COMMIT") or "alembic_version" in statement:
            continue
        statements.append(statement + ";")
    return statements


def tables_sql(sql: str) -> list[TableSql]:
    """Group statements by table, in the order the migrations create the tables.

    Extensions come first, in a section of their own; an index goes with its table (and
    goes away when a later migration drops it), or with the column it reads where a later
    migration added that; any other statement (the foreign keys of a cycle, a column added,
    with ALTER TABLE) goes with the last table created before it, so running the sections
    in order works.
    """
    tables: dict[str, TableSql] = {EXTENSIONS: TableSql(EXTENSIONS)}
    added: dict[tuple[str, str], TableSql] = {}  # a column ALTER TABLE added: its section
    current: TableSql | None = None
    for statement in _statements(sql):
        if statement.startswith("CREATE EXTENSION"):
            tables[EXTENSIONS].statements.append(statement)
            continue
        dropped = re.match(r"DROP INDEX (\w+)", statement)
        if dropped:  # a later migration replaced it: the schema shows head
            for table in tables.values():
                table.statements = [
                    s for s in table.statements if not s.startswith(f"CREATE INDEX {dropped[1]} ")
                ]
            continue
        created = re.match(r"CREATE TABLE (\w+)", statement)
        indexed = re.match(r"CREATE (?:UNIQUE )?INDEX \w+ ON (\w+)", statement)
        if created:
            current = tables[created[1]] = TableSql(created[1])
        if indexed:
            read = statement.split(f" ON {indexed[1]} ", 1)[1]
            later = [
                section
                for (table, column), section in added.items()
                if table == indexed[1] and re.search(rf"\b{column}\b", read)
            ]
            (later[-1] if later else tables[indexed[1]]).statements.append(statement)
        elif current is None:
            raise ValueError(f"statement before any table: {statement}")
        else:
            current.statements.append(statement)
            if column := re.match(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", statement):
                added[column[1], column[2]] = current
    return [table for table in tables.values() if table.statements]


def list_indexes_note() -> list[str]:
    """Describe migrations 0002 and 0003's indexes: the only additions to business.sql."""
    script = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))
    sort = script.get_revision("0002").module.SORT_INDEXES
    search = script.get_revision("0003").module.SEARCH_INDEXES
    out = [
        "Beyond business.sql, migrations `0002_list_indexes` and `0003_search_lower` add the",
        "indexes the app's own list queries need, and nothing else (the schema comparison",
        "accepts exactly these): an index on `(column, id)` for each sort column a list offers",
        "that business.sql does not index (`id` breaks ties, so a sorted page and its keyset",
        "cursor read the index), and, on PostgreSQL, one `pg_trgm` GIN index over `lower()` of",
        "the columns `q=` searches (a search is `lower(column) LIKE '%q%'`).",
        "",
        "| table | sort indexes `(column, id)` | trigram search index |",
        "|---|---|---|",
    ]
    for table, columns in sort.items():
        searched = ", ".join(f"`{c}`" for c in search.get(table, ()))
        out.append(f"| `{table}` | {', '.join(f'`{c}`' for c in columns)} | {searched or '-'} |")
    return out


def er_diagram() -> str:
    """Return a Mermaid ER diagram of the foreign keys (owner columns left out)."""
    lines = ["erDiagram"]
    for table in Base.metadata.sorted_tables:
        for key in sorted(table.foreign_keys, key=lambda k: k.parent.name):
            if key.parent.name in OWNER_COLUMNS:
                continue
            one = "|o" if key.parent.nullable else "||"
            target = key.column.table.name
            lines.append(f'    {target} {one}--o{{ {table.name} : "{key.parent.name}"')
    return "\n".join(lines)


def render_schema() -> str:
    """Return the whole of docs/schema.md."""
    sections = tables_sql(migration_sql())
    notes = {section.name: table_note(section.name) for section in sections}
    out = [
        "# Database schema",
        "",
        "<!-- Generated by scripts/gen_docs.py from the Alembic migrations; do not edit. -->",
        "",
        "Generated by `make docs` from the SQL the Alembic migrations (`migrations/`) run on",
        "PostgreSQL (`alembic upgrade head --sql`), so it cannot drift: `tests/docs/` fails when",
        "this page differs from what the migrations produce, and runs the statements below into",
        "an empty database to compare its catalog with a migrated one. Run in order, the",
        "sections build the whole schema. The business tables reproduce the production schema",
        "`migrations/reference/business.sql` exactly (`tests/db/test_business_schema.py`).",
        "On SQLite the same migrations build the same tables with SQLite's types.",
        "",
        "Every table but the link tables, `casbin_rule` and `policy_state` also has",
        "`owner_user_id` (to `users`) and `owner_group_id` (to `groups`), both",
        "`ON DELETE SET NULL` and indexed: the `own` and `group` permission scopes read them.",
        "The diagram leaves them out.",
        "",
        *list_indexes_note(),
        "",
        "```mermaid",
        er_diagram(),
        "```",
        "",
        "| table | purpose |",
        "|---|---|",
        *(f"| [`{s.name}`](#{s.name}) | {notes[s.name]} |" for s in sections),
    ]
    for section in sections:
        out += ["", f"## {section.name}", "", notes[section.name], "", "```sql"]
        out += ["\n\n".join(section.statements), "```"]
    return "\n".join(out) + "\n"


def _cell(permissions: set[str], model: str) -> str:
    """Say which actions a role holds on `model`, scope by scope (`CRUD own, R group`)."""
    parts = []
    for scope in SCOPES:
        held = [a for a in ACTIONS if f"{model}:{a}:{scope}" in permissions]
        if held:
            parts.append("".join(a[0].upper() for a in held) + f" {scope}")
    return ", ".join(parts) or "-"


def render_defaults() -> str:
    """Return the default roles, their permissions and the default accounts."""
    roles = default_role_permissions()
    names = list(roles)
    out = [
        "Roles (`C R U D` = create, read, update, delete; then the scope):",
        "",
        "| role | what it is for |",
        "|---|---|",
        *(f"| `{name}` | {ROLE_DESCRIPTIONS[name]} |" for name in names),
        "",
        "| model | " + " | ".join(f"`{name}`" for name in names) + " |",
        "|---|" + "---|" * len(names),
        *(
            f"| `{model}` | " + " | ".join(_cell(roles[name], model) for name in names) + " |"
            for model in PERMISSION_MODELS
        ),
        "",
        "Accounts (change these passwords before anyone else can reach the server):",
        "",
        "| username | password | email | role | groups |",
        "|---|---|---|---|---|",
        *(
            f"| `{u.username}` | `{u.password}` | {u.email} | `{u.role}` | "
            + (", ".join(f"`{g}`" for g in u.groups) or "-")
            + " |"
            for u in DEFAULT_USERS
        ),
        "",
        "Groups: " + ", ".join(f"`{name}` ({text})" for name, text in DEFAULT_GROUPS.items()),
    ]
    return "\n".join(out)


def summary(path: Path) -> str:
    """The first sentence of a module's docstring, on one line."""
    import ast

    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    first = " ".join(doc.split("\n\n")[0].split())
    return first.split(". ")[0].rstrip(".") if first else ""


def render_modules() -> str:
    """Every module of app/, layer by layer, with the first sentence of its docstring."""
    app = ROOT / "app"
    lines = ["| module | what it is |", "|---|---|"]
    for layer in LAYER_ORDER:
        base = app / layer
        paths = [base] if base.is_file() else sorted(base.rglob("*.py"))
        for path in paths:
            if path.name == "__init__.py" and not summary(path):
                continue
            text = summary(path).replace("|", "\\|")
            lines.append(f"| `{path.relative_to(ROOT)}` | {text} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) the generated docs; 1 when something is stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    api_text = with_new_sections(API_DOC.read_text())
    resources = {f"resource:{r.path}": render_resource(r) for r in RESOURCES}
    resources |= {
        f"examples:{r.path}": render_examples(r)
        for r in RESOURCES
        if marker(f"examples:{r.path}")[0] in api_text
    }
    model = (ROOT / "policy/model.conf").read_text().strip()
    spec_sections = {"defaults": render_defaults(), "casbin-model": f"```ini\n{model}\n```"}
    wanted = {
        SCHEMA_DOC: render_schema(),
        SPEC_DOC: fill(SPEC_DOC.read_text(), SPEC_DOC, spec_sections),
        API_DOC: fill(api_text, API_DOC, resources),
        ARCH_DOC: fill(ARCH_DOC.read_text(), ARCH_DOC, {"modules": render_modules()}),
    }
    stale = [path for path, text in wanted.items() if not path.exists() or path.read_text() != text]
    for path in stale:
        rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        if args.check:
            print(f"{rel} is out of date: run `make docs`", file=sys.stderr)
        else:
            path.write_text(wanted[path])
            print(f"wrote {rel}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
