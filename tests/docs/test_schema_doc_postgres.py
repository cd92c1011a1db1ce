"""The SQL of docs/schema.md, run in order into an empty database, builds what migrations do.

PostgreSQL only, like tests/db/test_business_schema.py: without `TEST_DATABASE_URL` the
module is not collected; with it set but unreachable, every test fails.
"""

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine

from app.core.config import with_driver
from app.init_db import migrate
from tests.docs.test_schema_doc import SCHEMA_PAGE, TABLES, page_sql
from tests.support import database
from tests.support.catalog import SERVER_URL, catalog_at, catalog_diff, scratch_database

# pytest reads this: without a server configured there is nothing to collect here.
__test__ = SERVER_URL is not None


def run_sql(url: str, script: str) -> None:
    """Run `script` as psql would (one simple query), in one transaction."""
    engine = create_engine(with_driver(url, asynchronous=False))
    try:
        with engine.begin() as connection:
            connection.connection.driver_connection.execute(script)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def migrated() -> Iterator[dict[str, str]]:
    """The catalog of a database built by the project's migrations."""
    assert SERVER_URL
    with scratch_database(SERVER_URL, "docmig") as url:
        migrate(database.test_settings(database_url=url))
        yield catalog_at(url, TABLES)


def documented(script: str) -> dict[str, str]:
    """Return the catalog of a database built by running `script`."""
    assert SERVER_URL
    with scratch_database(SERVER_URL, "docsql") as url:
        run_sql(url, script)
        return catalog_at(url, TABLES)


def test_page_sql_builds_what_the_migrations_build(migrated: dict[str, str]) -> None:
    """Run the page's SQL in order into an empty database: the same catalog, entry for entry."""
    tables = {key.split(" ", 1)[1].split(".", 1)[0] for key in migrated}
    assert tables == set(TABLES)  # the snapshot is not vacuous
    diff = catalog_diff(migrated, documented(page_sql(SCHEMA_PAGE.read_text())))
    assert not diff, "docs/schema.md differs from the migrations:\n" + "\n".join(diff)


def test_comparison_notices_a_missing_statement(migrated: dict[str, str]) -> None:
    """Leave one index out of the page's SQL: the comparison names it."""
    script = page_sql(SCHEMA_PAGE.read_text())
    script = script.replace("CREATE INDEX ix_tasks_status ON tasks (status);", "")
    diff = catalog_diff(migrated, documented(script))
    assert [line for line in diff if line.startswith("-")][1:] == [
        "-index tasks.ix_tasks_status: CREATE INDEX ix_tasks_status ON tasks USING btree (status)"
    ]
