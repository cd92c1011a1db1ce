"""The typed tree of a checked condition, its negations pushed down to the tests.

Every test is then read the same way by both compilers: `not` never wraps a junction, and a
negated comparison is the opposite comparison (`not a < b` is `a >= b`: under SQL's logic
both are null when either side is). A test on a related record's column is true exactly
when the related record exists and the test holds of it: what a correlated EXISTS selects.
"""

from dataclasses import dataclass
from typing import Any

from app.core.conditions.catalog import Column, ToMany, ToOne

FLIPPED = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


@dataclass(frozen=True, slots=True)
class Ref:
    """A column of the record (or of `it`), reached through to-one relations."""

    root: str  # "record" or "it"
    hops: tuple[ToOne, ...]
    column: Column

    @property
    def kind(self) -> str:
        return self.column.kind

    @property
    def text(self) -> str:
        return ".".join([self.root, *(hop.name for hop in self.hops), self.column.name])


@dataclass(frozen=True, slots=True)
class Const:
    value: Any
    kind: str  # a column kind, or "null"


@dataclass(frozen=True, slots=True)
class Var:
    """`subject.id`, `subject.username`, `subject.groups`, `subject.roles`, `now`, `today`."""

    name: str
    kind: str  # "integer", "string", "integer list", "string list", "time", "date"


Value = Ref | Const | Var


@dataclass(frozen=True, slots=True)
class Cmp:
    op: str
    left: Value
    right: Value


@dataclass(frozen=True, slots=True)
class Member:
    value: Value
    items: tuple[Const, ...] | Var  # literals, or a list the subject has
    negated: bool


@dataclass(frozen=True, slots=True)
class Null:
    value: Value
    negated: bool


@dataclass(frozen=True, slots=True)
class Exists:
    """`any(path, body)`: some row of a to-many relation (after to-one hops) satisfies it."""

    root: str
    hops: tuple[ToOne, ...]
    many: ToMany
    body: "Node"
    negated: bool


@dataclass(frozen=True, slots=True)
class Permit:
    """`can(action, path)`: the caller may `action` the record at the end of the hops."""

    action: str
    root: str
    hops: tuple[ToOne, ...]  # at least one; the last names the record
    negated: bool

    @property
    def model(self) -> str:
        return self.hops[-1].model


@dataclass(frozen=True, slots=True)
class Junction:
    op: str  # "and", "or"
    items: tuple["Node", ...]


Test = Cmp | Member | Null | Exists | Permit
Node = Test | Junction


def tests_of(node: Node) -> list[Test]:
    """Every test of the tree, outermost first (those inside `any()` bodies included)."""
    if isinstance(node, Junction):
        return [test for item in node.items for test in tests_of(item)]
    if isinstance(node, Exists):
        return [node, *tests_of(node.body)]
    return [node]


def permits_of(node: Node) -> list[Permit]:
    return [test for test in tests_of(node) if isinstance(test, Permit)]


def render_value(value: Value) -> str:
    if isinstance(value, Ref):
        return value.text
    if isinstance(value, Var):
        return value.name
    return render_literal(value.value)


def render_literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if hasattr(value, "isoformat"):
        return f'"{value.isoformat()}"'
    return str(value)


def render(node: Node) -> str:
    """The tree as an expression (negations pushed down), to show what a test needs."""
    if isinstance(node, Junction):
        parts = [
            f"({render(item)})" if isinstance(item, Junction) else render(item)
            for item in node.items
        ]
        return f" {node.op} ".join(parts)
    if isinstance(node, Cmp):
        return f"{render_value(node.left)} {node.op} {render_value(node.right)}"
    if isinstance(node, Member):
        items = (
            node.items.name
            if isinstance(node.items, Var)
            else "[" + ", ".join(render_literal(item.value) for item in node.items) + "]"
        )
        return f"{render_value(node.value)} {'not in' if node.negated else 'in'} {items}"
    if isinstance(node, Null):
        return f"{render_value(node.value)} is {'not null' if node.negated else 'null'}"
    path = ".".join([node.root, *(hop.name for hop in node.hops)])
    prefix = "not " if node.negated else ""
    if isinstance(node, Exists):
        return f"{prefix}any({path}.{node.many.name}, {render(node.body)})"
    return f'{prefix}can("{node.action}", {path})'
