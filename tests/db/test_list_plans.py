"""Every scoped list reads an index at scale, never the whole table: `EXPLAIN` of the app's
own list statements, as custom plans and as the generic plans of prepared statements.

A scratch PostgreSQL database gets ROWS rows in each business table, spread over 200
users and 20 groups, then `ANALYZE`. For every business resource, scope (all, own, group,
own + group), sort column the list offers (both ways), a search and the capped count, the
plan must not scan the resource's table sequentially. PostgreSQL only.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from psycopg.sql import Literal
from sqlalchemy import Connection, Select, create_engine, text
from sqlalchemy.dialects.postgresql import psycopg

from app.core.config import with_driver
from app.core.decisions import RowScope
from app.core.enforcer import Scopes
from app.core.lists import ListParams
from app.init_db import migrate
from app.resources import REGISTRY, Resource
from tests.support import database
from tests.support.catalog import SERVER_URL, scratch_database

# One worker builds the big database once, rather than each worker its own.
pytestmark = pytest.mark.xdist_group("list_plans")

# pytest reads this: without a server configured there is nothing to collect here.
__test__ = SERVER_URL is not None

ROWS = 100_000
BUSINESS = ("customers", "projects", "tasks", "tags", "comments", "time_entries")
SCOPES = {
    "all": Scopes(user_id=7, all=True, own=False, group_ids=frozenset()),
    "own": Scopes(user_id=7, all=False, own=True, group_ids=frozenset()),
    "group": Scopes(user_id=7, all=False, own=False, group_ids=frozenset({3})),
    "own+group": Scopes(user_id=7, all=False, own=True, group_ids=frozenset({3, 4})),
}
DIALECT = psycopg.dialect(paramstyle="numeric_dollar")
OWNERS = (
    "1 + g % 200, 1 + g % 20, now() - make_interval(secs => g), now() - make_interval(secs => g)"
)
FILL = (
    "INSERT INTO users (username, email, hashed_password)"
    " SELECT 'user' || g, 'user' || g || '@example.com', 'x' FROM generate_series(1, 200) g",
    "INSERT INTO groups (name) SELECT 'group' || g FROM generate_series(1, 20) g",
    "INSERT INTO customers (name, email, company, owner_user_id, owner_group_id, created_at,"
    f" updated_at) SELECT 'customer ' || g, 'c' || g || '@example.com', 'company ' || g % 97,"
    f" {OWNERS} FROM generate_series(1, {ROWS}) g",
    "INSERT INTO projects (name, customer_id, budget, start_date, due_date, owner_user_id,"
    " owner_group_id, created_at, updated_at) SELECT 'project ' || g, 1 + g % 1000,"
    " (g % 5000)::numeric, date '2026-01-01' + g % 300, date '2027-01-01' + g % 300,"
    f" {OWNERS} FROM generate_series(1, {ROWS}) g",
    "INSERT INTO tasks (project_id, title, description, priority, due_at, owner_user_id,"
    " owner_group_id, created_at, updated_at) SELECT 1 + g % 5000, 'task ' || g,"
    " 'about ' || md5(g::text), 1 + g % 5,"
    " CASE WHEN g % 3 = 0 THEN NULL ELSE now() + make_interval(hours => g) END,"
    f" {OWNERS} FROM generate_series(1, {ROWS}) g",
    "INSERT INTO tags (name, color, owner_user_id, owner_group_id, created_at, updated_at)"
    f" SELECT 'tag ' || g, '#' || lpad(to_hex(g % 4096), 6, '0'), {OWNERS}"
    f" FROM generate_series(1, {ROWS}) g",
    "INSERT INTO comments (task_id, body, owner_user_id, owner_group_id, created_at,"
    f" updated_at) SELECT 1 + g % {ROWS}, 'comment ' || md5(g::text), {OWNERS}"
    f" FROM generate_series(1, {ROWS}) g",
    "INSERT INTO time_entries (task_id, spent_on, minutes, note, owner_user_id,"
    f" owner_group_id, created_at, updated_at) SELECT 1 + g % {ROWS}, date '2026-01-01'"
    f" + g % 365, 1 + g % 480, 'note ' || g, {OWNERS} FROM generate_series(1, {ROWS}) g",
    "ANALYZE",
)


@pytest.fixture(scope="module")
def connection() -> Iterator[Connection]:
    """A connection to a migrated scratch database with ROWS rows per business table."""
    assert SERVER_URL
    with scratch_database(SERVER_URL, "plans") as url:
        settings = database.test_settings(database_url=url)
        # As a restore would: the rows first, then the list indexes (0002, 0003) over them.
        migrate(settings, "0001")
        engine = create_engine(with_driver(url, asynchronous=False))
        try:
            with engine.connect() as connection:
                for statement in FILL:
                    connection.execute(text(statement))
                connection.commit()
            migrate(settings)
            with engine.connect() as connection:
                connection.execute(text("ANALYZE"))
                connection.commit()
                yield connection
        finally:
            engine.dispose()


# A list statement as the app sends it: the statement and the values of its parameters.
Statement = tuple[Select[Any], dict[str, Any]]


def whole_table_scans(plan: dict[str, Any], table: str, parents: tuple[str, ...] = ()) -> int:
    """Count the sequential scans of `table` that read it whole: all of them except one
    right under a `Limit` (which stops it after a page's rows)."""
    found = 0
    if plan["Node Type"] == "Seq Scan" and plan.get("Relation Name") == table:
        nearest = [p for p in parents if p != "Subquery Scan"][-1:]
        found += nearest != ["Limit"]
    for child in plan.get("Plans", ()):
        found += whole_table_scans(child, table, (*parents, plan["Node Type"]))
    return found


def plan_of(connection: Connection, statement: Statement, *, generic: bool) -> dict[str, Any]:
    """Return the plan PostgreSQL makes for a statement and its values prepared, generic or
    custom."""
    stmt, parameters = statement
    # IN lists expanded to one parameter per value, as they are sent.
    compiled = stmt.compile(dialect=DIALECT).construct_expanded_state(parameters)
    values = tuple(compiled.parameters[name] for name in compiled.positiontup or ())
    mode = "force_generic_plan" if generic else "force_custom_plan"
    connection.execute(text(f"SET plan_cache_mode = {mode}"))
    # Without parameters psycopg sends the PREPARE as a simple query: its $n stay its own.
    connection.connection.driver_connection.execute(f"PREPARE listed AS {compiled.statement}")
    try:
        # EXPLAIN takes no parameters of its own: the values are written out as literals.
        raw = connection.connection.driver_connection
        literals = ", ".join(Literal(value).as_string(raw) for value in values)
        explain = (
            f"EXPLAIN (FORMAT JSON) EXECUTE listed({literals})"
            if values
            else ("EXPLAIN (FORMAT JSON) EXECUTE listed")
        )
        [[document]] = raw.execute(explain).fetchall()
    finally:
        connection.connection.driver_connection.execute("DEALLOCATE listed")
    return document[0]["Plan"]


def statements(res: Resource) -> Iterator[tuple[str, Statement]]:
    """Yield every list statement the app sends for `res`: each scope, sort and search,
    the page and the capped count."""
    sorts = [None, *(f"{p}{c}" for c in res.sort_columns for p in ("", "-"))]
    for scope_name, scopes in SCOPES.items():
        scope = RowScope.of(scopes)
        for sort in sorts:
            params = ListParams(sort=sort)
            yield f"{scope_name} sort={sort}", res.crud.page_statement(scope, params, ())
        searched = ListParams(q="kilo")
        page = res.crud.page_statement(scope, searched, res.search_columns)
        yield f"{scope_name} q", page
        yield f"{scope_name} count", res.crud.count_statement(scope, ListParams(), ())


@pytest.mark.parametrize("generic", [False, True], ids=["custom", "generic"])
@pytest.mark.parametrize("path", BUSINESS)
def test_no_list_scans_its_whole_table(connection: Connection, path: str, generic: bool) -> None:
    res = REGISTRY[path]
    table = res.model.__tablename__
    found = {
        label: whole_table_scans(plan_of(connection, stmt, generic=generic), table)
        for label, stmt in statements(res)
    }
    assert len(found) == len(SCOPES) * (3 + 2 * len(res.sort_columns))
    sequential = sorted(label for label, count in found.items() if count)
    assert not sequential, f"{table}: whole-table scans in {sequential}"


def test_the_check_sees_a_whole_table_scan(connection: Connection) -> None:
    """An unindexed filter on the big table is caught, so a pass above means something."""
    res = REGISTRY["tasks"]
    unindexed = ListParams(sort="estimate_hours")  # not a sort the list offers
    stmt = res.crud.page_statement(RowScope(("all",)), unindexed, ())
    assert whole_table_scans(plan_of(connection, stmt, generic=False), "tasks") == 1
