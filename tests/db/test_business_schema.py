"""The migrations reproduce `migrations/reference/business.sql` exactly, entry for entry,
plus exactly the list indexes of migrations 0002 and 0003 (the app's own additions).

PostgreSQL only: the production schema is PostgreSQL DDL. Without `TEST_DATABASE_URL` the
module is not collected; with it set but unreachable, every test fails.
"""

import re
from collections.abc import Iterator

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Text, create_engine, text

from app.core.config import PROJECT_ROOT, with_driver
from app.core.database import Base
from app.init_db import migrate
from app.resources import REGISTRY
from tests.support import database
from tests.support.catalog import (
    BUSINESS_TABLES,
    SERVER_URL,
    business_sql_path,
    catalog_at,
    catalog_diff,
    scratch_database,
)

# pytest reads this: without a server configured there is nothing to collect here.
__test__ = SERVER_URL is not None

# The auth tables business.sql points at; only their keys matter to its foreign keys.
AUTH_STUBS = (
    "CREATE TABLE users (id SERIAL PRIMARY KEY)",
    "CREATE TABLE groups (id SERIAL PRIMARY KEY)",
)


def server_url() -> str:
    """Return the configured PostgreSQL server URL."""
    assert SERVER_URL, "TEST_DATABASE_URL is not set"
    return SERVER_URL


def load_business_schema(url: str, *alterations: str) -> None:
    """Create the auth stubs, run business.sql verbatim, then any `alterations`."""
    engine = create_engine(with_driver(url, asynchronous=False))
    try:
        with engine.begin() as connection:
            for statement in AUTH_STUBS:
                connection.execute(text(statement))
            # Without parameters psycopg sends the file as one simple query, so the
            # script runs exactly as psql would run it, comments and all.
            connection.connection.driver_connection.execute(business_sql_path().read_text())
            for statement in alterations:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def snapshot(url: str) -> dict[str, str]:
    """Return the catalog snapshot of the business tables in the database at `url`."""
    return catalog_at(url, BUSINESS_TABLES)


def changed_keys(expected: dict[str, str], actual: dict[str, str]) -> set[str]:
    """Return the catalog entries that differ, are missing or are extra."""
    return {key for key in expected.keys() | actual.keys() if expected.get(key) != actual.get(key)}


@pytest.fixture(scope="module")
def reference() -> Iterator[dict[str, str]]:
    """The catalog of a database built from business.sql."""
    with scratch_database(server_url(), "bizsql") as url:
        load_business_schema(url)
        yield snapshot(url)


@pytest.fixture(scope="module")
def migrated() -> Iterator[dict[str, str]]:
    """The catalog of a database built by the project's first migration (the schema)."""
    with scratch_database(server_url(), "bizmig") as url:
        migrate(database.test_settings(database_url=url), "0001")
        yield snapshot(url)


@pytest.fixture(scope="module")
def migrated_head() -> Iterator[dict[str, str]]:
    """The catalog of a database built by every migration."""
    with scratch_database(server_url(), "bizhead") as url:
        migrate(database.test_settings(database_url=url))
        yield snapshot(url)


def list_indexes() -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """Return the sort indexes of migration 0002 and the search indexes as 0003 left them,
    read from the migrations themselves."""
    script = ScriptDirectory.from_config(Config(str(PROJECT_ROOT / "alembic.ini")))
    sort = script.get_revision("0002").module.SORT_INDEXES
    return sort, script.get_revision("0003").module.SEARCH_INDEXES


def lowered(table: str, column: str) -> str:
    """Return `lower(column)` as PostgreSQL writes it in an index: varchar is cast to text."""
    if isinstance(Base.metadata.tables[table].c[column].type, Text):
        return f"lower({column})"
    return f"lower(({column})::text)"


def expected_additions() -> dict[str, str]:
    """Return the catalog entries migrations 0002 and 0003 add, as PostgreSQL writes them."""
    sort, search = list_indexes()
    found = {}
    for table, columns in sort.items():
        for column in columns:
            name = f"ix_{table}_{column}_id"
            found[f"index {table}.{name}"] = (
                f"CREATE INDEX {name} ON {table} USING btree ({column}, id)"
            )
    for table, columns in search.items():
        ops = ", ".join(f"{lowered(table, column)} gin_trgm_ops" for column in columns)
        found[f"index {table}.ix_{table}_search"] = (
            f"CREATE INDEX ix_{table}_search ON {table} USING gin ({ops})"
        )
    return found


def test_reference_catalog_covers_every_business_table(reference: dict[str, str]) -> None:
    """Check the snapshot really describes the schema, so equality is not vacuous."""
    tables = {key.split(" ", 1)[1].split(".", 1)[0] for key in reference}
    assert tables == set(BUSINESS_TABLES)
    kinds = {key.split(" ", 1)[0] for key in reference}
    assert kinds == {"column", "constraint", "index"}
    assert reference["column projects.budget"].startswith("numeric length=None precision=12 ")
    assert reference["constraint tasks.ck_tasks_priority"].startswith("c CHECK")
    assert reference["constraint tags.uq_tags_name"] == "u UNIQUE (name)"
    assert reference["index task_tags.ix_task_tags_tag_id"] == (
        "CREATE INDEX ix_task_tags_tag_id ON task_tags USING btree (tag_id)"
    )
    assert (
        reference["constraint time_entries.time_entries_task_id_fkey"]
        == "f FOREIGN KEY (task_id) REFERENCES tasks(id) ON DELETE CASCADE"
    )


def test_migrations_reproduce_business_sql(
    reference: dict[str, str], migrated: dict[str, str]
) -> None:
    """Compare columns, constraints and indexes of business.sql and of the migrations."""
    diff = catalog_diff(reference, migrated)
    assert not diff, "migrations differ from business.sql:\n" + "\n".join(diff)


def test_head_adds_exactly_the_list_indexes(
    reference: dict[str, str], migrated_head: dict[str, str]
) -> None:
    """Check the migrations at head differ from business.sql only by the list indexes."""
    additions = expected_additions()
    assert len(additions) == 32
    assert catalog_diff(reference | additions, migrated_head) == []


def test_every_offered_sort_and_search_is_indexed(migrated_head: dict[str, str]) -> None:
    """Check each sort column a business list offers leads an index, and `q` has its index."""
    definitions = {key: value for key, value in migrated_head.items() if key.startswith("index ")}
    for table in BUSINESS_TABLES:
        res = REGISTRY.get(table)
        if res is None:
            continue  # task_tags: a link table, edited through tasks
        leading = {
            value.split("(", 1)[1].split(",")[0].split(")")[0].split()[0]
            for key, value in definitions.items()
            if key.startswith(f"index {table}.") and "USING btree" in value
        }
        missing = set(res.sort_columns) - leading
        assert not missing, f"{table}: no index leads with {sorted(missing)}"
        search = definitions[f"index {table}.ix_{table}_search"]
        assert re.findall(r"lower\(\(?(\w+)", search) == list(res.search_columns)


def test_diff_names_every_kind_of_change(reference: dict[str, str]) -> None:
    """Check the diff reports a changed, a missing and an extra entry."""
    edited = dict(reference)
    edited["column tags.color"] = edited["column tags.color"].replace("'#6b7280'", "'#000000'")
    del edited["index tasks.ix_tasks_status"]
    edited["constraint tags.uq_tags_color"] = "u UNIQUE (color)"

    diff = catalog_diff(reference, edited)

    assert any(line.startswith("-column tags.color:") for line in diff)
    assert any(line.startswith("+column tags.color:") and "#000000" in line for line in diff)
    assert any(line.startswith("-index tasks.ix_tasks_status:") for line in diff)
    assert any(line.startswith("+constraint tags.uq_tags_color:") for line in diff)


def test_comparison_catches_altered_schema(reference: dict[str, str]) -> None:
    """Alter a copy of business.sql in the database and check each change is caught."""
    alterations = (
        "ALTER TABLE tags ALTER COLUMN color SET DEFAULT '#000000'",
        "ALTER TABLE projects ALTER COLUMN budget TYPE NUMERIC(14, 2)",
        "ALTER TABLE customers ALTER COLUMN phone TYPE VARCHAR(60)",
        "ALTER TABLE comments ALTER COLUMN body DROP NOT NULL",
        "ALTER TABLE tasks RENAME CONSTRAINT ck_tasks_priority TO ck_tasks_priority_range",
        "ALTER TABLE time_entries DROP CONSTRAINT time_entries_user_id_fkey",
        "ALTER TABLE time_entries ADD CONSTRAINT time_entries_user_id_fkey "
        "FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE",
        "DROP INDEX ix_tasks_status",
        "CREATE UNIQUE INDEX ix_customers_name_unique ON customers (name)",
    )
    with scratch_database(server_url(), "bizalt") as url:
        load_business_schema(url, *alterations)
        altered = snapshot(url)

    assert changed_keys(reference, altered) == {
        "column tags.color",
        "column projects.budget",
        "column customers.phone",
        "column comments.body",
        "constraint tasks.ck_tasks_priority",
        "constraint tasks.ck_tasks_priority_range",
        "constraint time_entries.time_entries_user_id_fkey",
        "index tasks.ix_tasks_status",
        "index customers.ix_customers_name_unique",
    }
    assert catalog_diff(reference, altered)
