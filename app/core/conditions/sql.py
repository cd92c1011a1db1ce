"""The second compiler: a checked tree becomes a SQLAlchemy expression over a table, true of
exactly the rows the first compiler (`evaluate.py`) answers true for.

A test reading related records is a correlated EXISTS over the foreign keys (true exactly
when the related row exists and the test holds of it; `is null` is the NOT EXISTS of
`is not null`); `any()` is an EXISTS over the rows or the link table; `can()` is an EXISTS
over the referenced row under its own read filter. Literals are bound parameters typed by
their kind, never SQL text; strings order by code point (`COLLATE "C"` on PostgreSQL).
"""

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    FromClause,
    Numeric,
    String,
    and_,
    exists,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine

from app.core.conditions.catalog import Catalog, ToOne
from app.core.conditions.tree import (
    Cmp,
    Exists,
    Junction,
    Member,
    Node,
    Null,
    Permit,
    Ref,
    Value,
    Var,
)
from app.core.database import UTCDateTime

TYPES: dict[str, Callable[[], TypeEngine[Any]]] = {
    "integer": BigInteger,
    "decimal": Numeric,
    "string": String,
    "boolean": Boolean,
    "date": Date,
    "time": UTCDateTime,
}


class CodePoint(FunctionElement[Any]):
    """A string compared by code point: `COLLATE "C"` on PostgreSQL; SQLite's own order."""

    inherit_cache = True
    name = "code_point"


@compiles(CodePoint)
def _code_point(element: CodePoint, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(next(iter(element.clauses)), **kw))


@compiles(CodePoint, "postgresql")
def _code_point_pg(element: CodePoint, compiler: Any, **kw: Any) -> str:
    return f'({compiler.process(next(iter(element.clauses)), **kw)}) COLLATE "C"'


@dataclass(frozen=True)
class Context:
    """What a compiled filter needs beside the tree: the subject's values and the clock as
    parameters, and for `can()` the filter of another model's rows this caller may act on
    (None: all of them)."""

    catalog: Catalog
    parameter: Callable[[str, str], ColumnElement[Any]]  # (name, kind) -> a bound parameter
    can: Callable[[str, str, FromClause], ColumnElement[bool] | None]


def where(
    node: Node, table: FromClause, context: Context, *, outermost: bool = True
) -> ColumnElement[bool]:
    """The WHERE clause on `table` selecting the rows `node` is true of; `outermost` when
    `table` is the statement's own (not a row a subquery of another filter reads)."""
    return _Compiler(context, outermost).node(node, {"record": table})


class _Compiler:
    def __init__(self, context: Context, outermost: bool = True) -> None:
        self.context = context
        # Inside a subquery run per row (another filter's, an `any()` body), a hashed
        # subquery would be built again for every row: there, every relation is an EXISTS.
        self.outermost = outermost
        self.tables = {name: e.table for name, e in context.catalog.entities.items()}

    def node(self, node: Node, roots: dict[str, FromClause]) -> ColumnElement[bool]:
        if isinstance(node, Junction):
            items = [self.node(item, roots) for item in node.items]
            return and_(*items) if node.op == "and" else or_(*items)
        if isinstance(node, Exists):
            return self.exists(node, roots)
        if isinstance(node, Permit):
            return self.permit(node, roots)
        return self.test(node, roots)

    def chain(
        self,
        roots: dict[str, FromClause],
        root: str,
        hops: tuple[ToOne, ...],
        joins: dict[Any, Any],
    ) -> FromClause:
        """The alias reached from `root` through `hops` (made once per test), its join
        conditions gathered in `joins`."""
        current = roots[root]
        for depth in range(1, len(hops) + 1):
            key = (root, hops[:depth])
            if key not in joins:
                hop = hops[depth - 1]
                alias = self.tables[hop.model].alias()
                joins[key] = (alias, alias.c.id == current.c[hop.key])
            current = joins[key][0]
        return current

    def test(self, node: Node, roots: dict[str, FromClause]) -> ColumnElement[bool]:
        joins: dict[Any, Any] = {}
        direct: set[str] = set()  # roots whose own columns the test reads

        def value(item: Value, kind: str) -> ColumnElement[Any]:
            if isinstance(item, Ref):
                if not item.hops:
                    direct.add(item.root)
                return self.chain(roots, item.root, item.hops, joins).c[item.column.name]
            if isinstance(item, Var):
                return self.context.parameter(item.name, item.kind)
            return literal(item.value, TYPES[kind]())

        if isinstance(node, Null):
            kind = node.value.kind if node.value.kind != "null" else "string"
            found = value(node.value, kind)
            if not joins:
                return found.is_not(None) if node.negated else found.is_(None)
            uncorrelated = self._among(roots, joins, direct, found.is_not(None))
            if uncorrelated is not None:
                return uncorrelated.is_(true()) if node.negated else uncorrelated.is_not(true())
            present = self._exists(joins, found.is_not(None))
            return present if node.negated else not_(present)
        if isinstance(node, Cmp):
            kind = _common(node.left.kind, node.right.kind)
            left, right = value(node.left, kind), value(node.right, kind)
            if kind == "string" and node.op not in ("==", "!="):
                left, right = CodePoint(left), CodePoint(right)
            clause = _OPERATORS[node.op](left, right)
        else:
            assert isinstance(node, Member)
            kind = node.value.kind
            found = value(node.value, kind)
            if isinstance(node.items, Var):
                listed: Any = self.context.parameter(node.items.name, node.items.kind)
            else:
                listed = [literal(item.value, TYPES[kind]()) for item in node.items]
            clause = found.not_in(listed) if node.negated else found.in_(listed)
        if not joins:
            return clause
        uncorrelated = self._among(roots, joins, direct, clause)
        if uncorrelated is not None:
            return uncorrelated.is_(true())
        return self._exists(joins, clause)

    def _among(
        self,
        roots: dict[str, FromClause],
        joins: dict[Any, Any],
        direct: set[str],
        clause: ColumnElement[bool],
    ) -> ColumnElement[bool] | None:
        """A test reading only records one to-one relation leads to (not the record's own
        columns): `key IN (SELECT id FROM related WHERE test)`, wrapped so that the planner
        keeps it a subquery it hashes once per statement, not a join it probes per row (None:
        the test is correlated; an EXISTS it is). True exactly when the related record exists
        and the test holds of it."""
        firsts = {key for key in joins if len(key[1]) == 1}
        if direct or len(firsts) != 1 or not self.outermost or "it" in roots:
            return None
        ((root, (hop,)),) = firsts
        first, _ = joins[(root, (hop,))]
        inner = [condition for key, (_, condition) in joins.items() if len(key[1]) > 1]
        aliases = [alias for alias, _ in joins.values()]
        related = select(first.c.id).select_from(*aliases).where(*inner, clause)
        return roots[root].c[hop.key].in_(related)

    @staticmethod
    def _exists(joins: dict[Any, Any], clause: ColumnElement[bool]) -> ColumnElement[bool]:
        aliases = [alias for alias, _ in joins.values()]
        conditions = [condition for _, condition in joins.values()]
        return exists(select(literal(1)).select_from(*aliases).where(*conditions, clause))

    def exists(self, node: Exists, roots: dict[str, FromClause]) -> ColumnElement[bool]:
        joins: dict[Any, Any] = {}
        owner = self.chain(roots, node.root, node.hops, joins)
        many = node.many
        rows = self.tables[many.model].alias()
        if many.link is None:
            froms = [rows]
            conditions = [rows.c[many.key] == owner.c.id]
        else:
            link = many.link.alias()
            froms = [link, rows]
            conditions = [link.c[many.key] == owner.c.id, rows.c.id == link.c[many.far]]
        body = self.node(node.body, {**roots, "it": rows})
        aliases = [alias for alias, _ in joins.values()]
        hops = [condition for _, condition in joins.values()]
        found = exists(
            select(literal(1)).select_from(*aliases, *froms).where(*hops, *conditions, body)
        )
        return not_(found) if node.negated else found

    def permit(self, node: Permit, roots: dict[str, FromClause]) -> ColumnElement[bool]:
        joins: dict[Any, Any] = {}
        target = self.chain(roots, node.root, node.hops, joins)
        allowed = self.context.can(node.action, node.model, target)
        found = self._exists(joins, true() if allowed is None else allowed)
        return not_(found) if node.negated else found


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _common(left: str, right: str) -> str:
    if left == right:
        return left
    if {left, right} <= {"integer", "decimal"}:
        return "decimal"
    return left if right == "null" else right
