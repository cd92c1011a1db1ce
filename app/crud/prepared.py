"""A statement every request runs, executed on PostgreSQL as the driver's own prepared
statement: compiled once, its row processed by its columns' types, without SQLAlchemy's
per-execution work (the compiled cache's key, result metadata built from the cursor's
description), which cost more than the statement itself. Elsewhere (SQLite) it runs
through the connection like any statement. The engine's `before_cursor_execute`
listeners see it either way (the suite counts statements with them)."""

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

Processor = Callable[[Any], Any] | None


class Prepared:
    """One statement, compiled for PostgreSQL on its first run."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._sql = ""
        self._defaults: dict[str, Any] = {}  # values the statement binds itself
        self._types: list[Any] = []
        self._processors: list[Processor] | None = None  # known after the first run

    async def first(self, connection: AsyncConnection, values: Mapping[str, Any]) -> Any:
        """Return the statement's first row with `values` as a tuple (None: no row)."""
        dialect = connection.dialect
        if dialect.name != "postgresql":
            return (await connection.execute(self.statement, dict(values))).first()
        if not self._sql:
            compiled = self.statement.compile(dialect=dialect)
            self._types = [column[3] for column in compiled._result_columns]
            self._defaults = dict(compiled.params)
            self._sql = str(compiled)
        parameters = self._defaults | dict(values)
        sync = connection.sync_connection
        raw = await connection.get_raw_connection()
        cursor = raw.driver_connection.cursor()
        if sync is not None and (sync._has_events or sync.engine._has_events):
            sync.dispatch.before_cursor_execute(sync, cursor, self._sql, parameters, None, False)
        try:
            await cursor.execute(self._sql, parameters, prepare=True)
            row = await cursor.fetchone()
            if self._processors is None:
                self._processors = [
                    type_._cached_result_processor(dialect, column.type_code)
                    for type_, column in zip(self._types, cursor.description or (), strict=True)
                ]
        except dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy would raise it
            gone = dialect.is_disconnect(exc, raw.dbapi_connection, cursor)
            if gone:  # the pool replaces the connection
                await connection.invalidate()
            raise DBAPIError.instance(
                self._sql,
                parameters,
                exc,
                dialect.loaded_dbapi.Error,
                connection_invalidated=gone,
                dialect=dialect,
            ) from exc
        finally:
            await cursor.close()
        if row is None:
            return None
        return tuple(
            value if process is None else process(value)
            for process, value in zip(self._processors, row, strict=True)
        )
