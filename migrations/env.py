"""Alembic environment: the URL comes from the app's settings unless a caller passes one.

`alembic revision --autogenerate -m <slug>` (on SQLite or PostgreSQL) writes
`versions/<NNNN>_<slug>.py`, numbered after the head, importing nothing from `app`: the
app's column types are written as the plain types they store, `func.now()` defaults as
`sa.func.now()` (valid on both backends), and PostgreSQL-only indexes (the trigram search
index) guarded by the dialect, as 0002 writes them.
"""

from logging.config import fileConfig
from typing import Any

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate import renderers
from alembic.autogenerate.api import AutogenContext
from alembic.autogenerate.render import render_op
from alembic.operations import ops
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.sql.functions import FunctionElement

import app.resources  # noqa: F401  (fills Base.metadata, with the registry's derived indexes)
from app.core.config import get_settings
from app.core.database import Base, create_sync_engine
from app.models.base import on_dialect

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata
DIALECTS = ("postgresql", "sqlite")


class OnDialect(ops.MigrateOperation):
    """Operations rendered under `if op.get_context().dialect.name == <dialect>:`."""

    def __init__(self, dialect: str, operations: list[ops.MigrateOperation]) -> None:
        self.dialect = dialect
        self.ops = operations

    def reverse(self) -> "OnDialect":
        return OnDialect(self.dialect, [o.reverse() for o in reversed(self.ops)])


@renderers.dispatch_for(OnDialect)
def _render_on_dialect(autogen_context: AutogenContext, op: OnDialect) -> list[str]:
    lines = [f"if op.get_context().dialect.name == {op.dialect!r}:"]
    for inner in op.ops:
        lines.extend(render_op(autogen_context, inner))
    return [*lines, ""]  # the blank line closes the block


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Write the app's types and defaults as plain SQLAlchemy, so no revision imports `app`."""
    if type_ == "type" and isinstance(obj, sa.types.TypeDecorator):
        impl = obj.impl_instance
        if getattr(sa.types, type(impl).__name__, None) is type(impl):
            return f"sa.{impl!r}"  # UTCDateTime -> sa.DateTime(timezone=True)
    if type_ == "server_default" and isinstance(obj, sa.DefaultClause):
        arg = obj.arg
        if isinstance(arg, FunctionElement) and not list(arg.clauses):
            return f"sa.func.{arg.name}()"  # func.now(): not SQLite's CURRENT_TIMESTAMP text
    return False


def only_on(index: sa.Index) -> str | None:
    """Return the one dialect `index` exists on (a trigram index: PostgreSQL), else None."""
    found = [dialect for dialect in DIALECTS if on_dialect(index, dialect)]
    return found[0] if len(found) == 1 else None


def number_and_arrange(context_: Any, revision: Any, directives: list[Any]) -> None:
    """Number the revision after the head (0007 after 0006), and write a new table's
    indexes as plain `op.create_index` calls, each dialect-only one under its guard."""
    script = directives[0]
    head = ScriptDirectory.from_config(config).get_current_head()
    script.rev_id = f"{int(head) + 1:04d}" if head else "0001"
    for upgrade_ops, downgrade_ops in zip(
        script.upgrade_ops_list, script.downgrade_ops_list, strict=True
    ):
        created = {o.table_name for o in upgrade_ops.ops if isinstance(o, ops.CreateTableOp)}
        upgrade_ops.ops = arrange(upgrade_ops.ops, created, ops.CreateIndexOp, upgrade=True)
        downgrade_ops.ops = arrange(downgrade_ops.ops, created, ops.DropIndexOp, upgrade=False)


def arrange(
    operations: list[Any], created: set[str], kind: type[Any], *, upgrade: bool
) -> list[Any]:
    """Lift the index operations (`kind`) of the `created` tables out of their (batch)
    table operations, add the dialect-only indexes the comparison left out on this backend,
    sort them by name, and guard each dialect-only one."""
    lifted: dict[str, dict[str, Any]] = {table: {} for table in created}
    for operation in operations:
        if isinstance(operation, ops.ModifyTableOps) and operation.table_name in created:
            found = lifted[operation.table_name]
            found.update((o.index_name, o) for o in operation.ops if isinstance(o, kind))
            operation.ops = [o for o in operation.ops if not isinstance(o, kind)]
    arranged: list[Any] = []
    for operation in operations:
        table = getattr(operation, "table_name", None)
        if isinstance(operation, ops.ModifyTableOps) and not operation.ops:
            continue
        if table not in created or isinstance(operation, ops.ModifyTableOps):
            arranged.append(operation)
            continue
        indexes = lifted[table]
        for index in target_metadata.tables[table].indexes:
            if index.name not in indexes and only_on(index):
                new = ops.CreateIndexOp.from_index(index)
                indexes[index.name] = new if upgrade else new.reverse()
        # By name, the guarded ones last (first, dropping); each index's guard, if any.
        listed = sorted(indexes.values(), key=lambda o: (bool(_dialect(o, table)), o.index_name))
        written = [
            OnDialect(dialect, [o]) if (dialect := _dialect(o, table)) else o
            for o in (listed if upgrade else reversed(listed))
        ]
        arranged.extend([operation, *written] if upgrade else [*written, operation])
    return arranged


def _dialect(operation: Any, table: str) -> str | None:
    """The one dialect the index of `operation` exists on, or None."""
    index = next(i for i in target_metadata.tables[table].indexes if i.name == operation.index_name)
    return only_on(index)


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        include_object=lambda obj, *_: on_dialect(obj, connection.dialect.name),
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        process_revision_directives=number_and_arrange,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    engine = create_sync_engine(get_settings())
    with engine.connect() as connection:
        run_with(connection)
    engine.dispose()


if context.is_offline_mode():
    # `alembic upgrade head --sql`: a caller (scripts/gen_docs.py) may name just the dialect.
    dialect = config.attributes.get("dialect_name")
    if dialect:
        context.configure(dialect_name=dialect, target_metadata=target_metadata)
    else:
        context.configure(url=get_settings().sync_database_url, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
