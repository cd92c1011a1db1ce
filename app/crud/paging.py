"""The generic list of a table: paging (by offset, or after a keyset cursor), sorting on an
allow-list, escaped search, typed filters (a value, a linked record, a range of days), the
scope filter and a capped count, in one statement per page, built once per shape of request
and run with that request's values. `CRUDBase` takes it as a mixin."""

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    SmallInteger,
    String,
    Text,
    and_,
    bindparam,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import ExecutableOption

from app.core.cursors import encode_cursor, sort_key
from app.core.decisions import RowScope
from app.core.lists import COUNT_CAP, LOOKUP_COUNT_CAP, SEARCH_COUNT_CAP, ListParams, PageResult
from app.core.numbers import INT_MAX, SMALLINT_MAX
from app.core.zones import day_end, day_start
from app.crud.rows import as_rows

# How many list statements a crud object keeps built (one per shape of list request).
STATEMENTS_KEPT = 512


class ListMixin:
    """Lists of `model`'s records (see the module's docstring); the crud object provides
    the model, the relations, how its rows load, and the cache of built statements."""

    model: type[Any]
    relations: dict[str, tuple[str, type[Any]]]
    options: tuple[ExecutableOption, ...]
    row_columns: list[ColumnElement[Any]]
    row_type: type[tuple[Any, ...]]
    _statements: dict[tuple[Any, ...], Select[Any]]

    def is_dated(self, name: str) -> bool:
        """Whether column `name` holds a date or a time (a range of days can filter it)."""
        try:
            return self.python_type(name) in (date, datetime)
        except NotImplementedError:  # a type with no Python equivalent (none is dated)
            return False

    def holds_moments(self, name: str) -> bool:
        """Whether column `name` holds moments (times), not calendar dates or other values."""
        return self.python_type(name) is datetime

    def python_type(self, name: str) -> type:
        """The Python type of column `name`'s values."""
        column_type = getattr(self.model, name).type
        return getattr(column_type, "impl_instance", column_type).python_type

    def largest_int(self, name: str) -> int:
        """The largest whole number column `name` holds (a SMALLINT's is 32767), or a link's."""
        columns = self.model.__table__.columns
        if name in columns and isinstance(columns[name].type, SmallInteger):
            return SMALLINT_MAX
        return INT_MAX

    def sort_column(self, sort: str | None) -> Any:
        """Return the column a list sorts by (None: the list sorts by id)."""
        name, _ = sort_key(sort)
        return None if name == "id" else self.model.__table__.columns[name]

    async def list(
        self,
        *,
        session: AsyncSession,
        scope: RowScope,
        params: ListParams,
        search_columns: Sequence[str] = (),
        plain: bool = False,
    ) -> PageResult:
        """Return one page of the records `scope` allows, with how many match.

        The page starts at `params.offset` rows, or after the row its cursor names. The
        count stops `COUNT_CAP` rows past the page's start (`SEARCH_COUNT_CAP` with a
        search, `LOOKUP_COUNT_CAP` when the filter looks up other records; no `count(*)`
        over a million rows) and is skipped when the page itself
        shows where the list ends. `plain`: the rows as plain rows (`app/crud/rows.py`)
        rather than ORM objects.
        """
        stmt, values = self.page_statement(scope, params, search_columns, plain=plain)
        if plain:
            connection = await session.connection()
            rows: list[Any] = list(await connection.execute(stmt, values))
        else:
            rows = list(await session.execute(stmt, values))
        more = len(rows) > params.limit
        page = rows[: params.limit]
        if plain:  # named tuples: cheaper to read attributes from than result rows
            make = self.row_type._make  # type: ignore[attr-defined]
            items = [make(row[:-1]) for row in page]  # each row: the record, then the count
        else:
            items = [row[0] for row in page]
        next_cursor = None
        if more:
            last = items[-1]
            name, _ = sort_key(params.sort)
            value = None if name == "id" else getattr(last, name)
            next_cursor = encode_cursor(params.sort, value, last.id)
        if params.after is None and not more and (items or params.offset == 0):
            return PageResult(items, params.offset + len(items), True, next_cursor)
        cap = params.offset + self._cap(self._searched(params, search_columns), scope)
        if rows:  # every row carries the capped count, computed once by the same statement
            total = rows[0][-1]
        else:  # past the end: no row to carry it
            counted, values = self.count_statement(scope, params, search_columns)
            total = await session.scalar(counted, values) or 0
        return PageResult(items, min(total, cap), total <= cap, next_cursor)

    # Statements are built once per shape (scope, search, filters, sort, cursor) and cached:
    # building one and its cache key on every request cost more than running it. What
    # varies between requests of one shape goes in as parameter values.
    def page_statement(
        self,
        scope: RowScope,
        params: ListParams,
        search_columns: Sequence[str],
        *,
        plain: bool = False,
    ) -> tuple[Select[Any], dict[str, Any]]:
        """Return the statement of one page, with one row more to tell whether more follow
        and the capped count (as `count_statement` counts) as each row's last column, and
        its parameter values."""
        searched = self._searched(params, search_columns)
        after = None if params.after is None else params.after[0] is None
        filters = tuple(name for name, _ in params.filters)
        stmt = self._statement(
            ("page", scope.shape, searched, filters, params.sort, after, plain),
            lambda: self._page(scope, searched, filters, params, plain),
        )
        values = self._values(scope, params, searched)
        values |= {
            "limit": params.limit + 1,
            "offset": params.offset,
            "window": max(params.limit, self._cap(searched, scope)) + 1,
            "count_limit": params.offset + self._cap(searched, scope) + 1,
        }
        if params.after is not None:
            value, id = params.after
            values |= {"after_id": id} if value is None else {"after_value": value, "after_id": id}
        return stmt, values

    def count_statement(
        self, scope: RowScope, params: ListParams, search_columns: Sequence[str]
    ) -> tuple[Select[Any], dict[str, Any]]:
        """Return the statement counting the matching rows, no further than `_cap` rows
        past the page's offset (one more tells that the cap was reached), and its values."""
        searched = self._searched(params, search_columns)
        filters = tuple(name for name, _ in params.filters)
        stmt = self._statement(
            ("count", scope.shape, searched, filters),
            lambda: self._counted(self._matching(scope, searched, filters)),
        )
        values = self._values(scope, params, searched)
        return stmt, values | {"count_limit": params.offset + self._cap(searched, scope) + 1}

    def _page(
        self,
        scope: RowScope,
        searched: tuple[str, ...],
        filters: tuple[str, ...],
        params: ListParams,
        plain: bool,
    ) -> Select[Any]:
        """Build the statement of one page and the capped count, from one index walk.

        `listed` holds the ids (and sort values) of up to `window` matching rows from the
        page's start, read from an index alone; the page is its first `limit` rows, read by
        id, and the count is the offset plus how many it holds. A deep offset is skipped
        once, in the index, rather than once for the page (reading every row it skips) and
        again for the count.
        """
        model = self.model
        name, _ = sort_key(params.sort)
        keys = [model.id] if name == "id" else [model.id, getattr(model, name)]
        matching = self._after(self._matching(scope, searched, filters), params)
        listed = (
            matching.with_only_columns(*keys)
            .order_by(*self._order(params.sort, model))
            .limit(bindparam("window"))
            .offset(bindparam("offset"))
            .cte("listed")
        )
        page = (
            select(listed.c.id)
            .order_by(*self._order(params.sort, listed.c))
            .limit(bindparam("limit"))
        )
        stmt = select(model).where(model.id.in_(page.scalar_subquery()))
        stmt = stmt.order_by(*self._order(params.sort, model))
        stmt = as_rows(stmt, self.row_columns) if plain else stmt.options(*self.options)
        # How many rows the list holds, counted from its start to `_cap` rows past the
        # page's, rides along as the last column: one round trip per page.
        if params.after is None:
            listed_rows = select(func.count()).select_from(listed).scalar_subquery()
            total = listed_rows + bindparam("offset")
        else:  # a keyset page counts from the list's start too, as its first page did
            total = self._counted(self._matching(scope, searched, filters)).scalar_subquery()
        return stmt.add_columns(total.label("list_total"))

    def _counted(self, matching: Select[Any]) -> Select[Any]:
        capped = matching.with_only_columns(self.model.id).limit(bindparam("count_limit"))
        return select(func.count()).select_from(capped.subquery())

    def _statement(self, key: tuple[Any, ...], build: Callable[[], Select[Any]]) -> Select[Any]:
        """Return the statement of this shape, built on its first use."""
        stmt = self._statements.get(key)
        if stmt is None:
            if len(self._statements) >= STATEMENTS_KEPT:  # shapes are few; a backstop
                self._statements.clear()
            stmt = self._statements[key] = build()
        return stmt

    @staticmethod
    def _cap(searched: tuple[str, ...], scope: RowScope) -> int:
        """Return how far past its offset a list counts: less far when its filter looks
        up other records row by row, or when it searches."""
        if scope.looks_up:
            return LOOKUP_COUNT_CAP
        return SEARCH_COUNT_CAP if searched else COUNT_CAP

    @staticmethod
    def _searched(params: ListParams, search_columns: Sequence[str]) -> tuple[str, ...]:
        """Return the columns a list's `q` searches (none without `q`)."""
        return tuple(search_columns) if params.q else ()

    def _values(
        self, scope: RowScope, params: ListParams, searched: tuple[str, ...]
    ) -> dict[str, Any]:
        """Return the values of the parameters scope, search and filters leave in a statement."""
        values = dict(scope.values)
        if searched:
            # Lowered here, once, to match `lower(column)` (see `_matching`).
            q = (params.q or "").lower()
            escaped = q.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
            values["q"] = f"%{escaped}%"
        for name, value in params.filters:
            column, bound = self._range_of(name)
            if bound and self.holds_moments(column):  # a day: its moments
                value = self._day_bound(value, bound, params.zone)
            values[f"filter_{name}"] = value
        return values

    def _range_of(self, name: str) -> tuple[str, str | None]:
        """Split a filter's name into the column it tests and `from` or `to` (None: a value
        or a linked record)."""
        columns = self.model.__table__.columns
        if name not in columns:
            for bound in ("from", "to"):
                column = name.removesuffix(f"_{bound}")
                if column != name and column in columns:
                    return column, bound
        return name, None

    @staticmethod
    def _day_bound(day: date, bound: str, zone: str) -> datetime:
        """The first moment of a range that starts on `day`, or the first after one that
        ends on it, in `zone`; past the years 1 to 9999, the end of time that way."""
        try:
            return day_start(day, zone) if bound == "from" else day_end(day, zone)
        except OverflowError:
            return (
                datetime.min.replace(tzinfo=UTC)
                if bound == "from"
                else datetime.max.replace(tzinfo=UTC)
            )

    def _after(self, stmt: Select[Any], params: ListParams) -> Select[Any]:
        """Keep the rows after the cursor's (`after_value`, `after_id`), in `_order`'s order."""
        if params.after is None:
            return stmt
        value, _ = params.after
        name, descending = sort_key(params.sort)
        key = self.model.id
        after_id = bindparam("after_id", type_=key.type)
        if name == "id":
            return stmt.where(key < after_id if descending else key > after_id)
        column = getattr(self.model, name)
        if value is None:  # the NULLs: last going up, first going down
            if descending:
                return stmt.where(or_(and_(column.is_(None), key < after_id), column.is_not(None)))
            return stmt.where(column.is_(None), key > after_id)
        bound = tuple_(bindparam("after_value", type_=column.type), after_id)
        after = tuple_(column, key) < bound if descending else tuple_(column, key) > bound
        if column.nullable and not descending:
            after = or_(after, column.is_(None))
        return stmt.where(after)

    def _matching(
        self, scope: RowScope, searched: tuple[str, ...], filters: tuple[str, ...]
    ) -> Select[Any]:
        """Return the query of the records the scope allows that match search and filters."""
        stmt = select(self.model)
        where = scope.clause(self.model)
        if where is not None:
            stmt = stmt.where(where)
        if searched:
            clauses = []
            for name in searched:
                column = getattr(self.model, name)
                if not isinstance(column.type, String | Text):
                    column = func.cast(column, String)
                # Not ILIKE: PostgreSQL's lowers the pattern again for every row it tests.
                lowered = func.lower(column)
                clauses.append(lowered.like(bindparam("q", type_=String), escape="\\"))
            stmt = stmt.where(or_(*clauses))
        for name in filters:
            stmt = stmt.where(self._filter_clause(name))
        return stmt

    def _filter_clause(self, name: str) -> ColumnElement[bool]:
        """The condition of one list filter (see `ListParams`), its value a parameter."""
        value = bindparam(f"filter_{name}")
        column_name, bound = self._range_of(name)
        if bound is not None:
            column = getattr(self.model, column_name)
            if bound == "from":
                return column >= value
            # The day after a range of times (`_values`); the last day of a range of dates.
            return column < value if self.holds_moments(column_name) else column <= value
        link = self.relations.get(f"{name.removesuffix('_id')}_ids")
        if link is not None and name not in self.model.__table__.columns:
            attribute, related = link
            return getattr(self.model, attribute).any(related.id == value)
        return getattr(self.model, name) == value

    def _order(self, sort: str | None, columns: Any) -> tuple[ColumnElement[Any], ...]:
        """Return the ORDER BY of a sort over `columns` (the model's, or a subquery's): the
        sort column, then id in the same direction, NULLs last going up and first going
        down on both backends: the order of a `(column, id)` index."""
        key = columns.id
        name, descending = sort_key(sort)
        if name == "id":
            return (key.desc() if descending else key,)
        column = getattr(columns, name)
        if descending:
            return column.desc().nulls_first(), key.desc()
        return column.asc().nulls_last(), key
