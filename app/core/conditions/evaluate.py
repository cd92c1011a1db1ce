"""The first compiler: a checked tree becomes a Python function of one record, answering
true, false or None (unknown) exactly as SQL would of the same row.

A record is seen through a `View`: its own values (an ORM object, a row, or a mapping of
what a write would store) and the related records the condition reads, loaded beforehand
(`needs()` says which); a to-one relation through a null key, or to a missing row, is None.
"""

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.core.conditions.tree import (
    Cmp,
    Const,
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

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class View:
    """A record and the related records a condition reads (loaded by the caller)."""

    __slots__ = ("manys", "model", "ones", "record")

    def __init__(
        self,
        model: str,
        record: Any,
        ones: dict[str, "View | None"] | None = None,
        manys: dict[str, list["View"]] | None = None,
    ) -> None:
        self.model = model
        self.record = record
        self.ones = ones if ones is not None else {}
        self.manys = manys if manys is not None else {}

    def get(self, name: str) -> Any:
        record = self.record
        if isinstance(record, Mapping):
            return record.get(name)
        return getattr(record, name, None)

    def one(self, name: str) -> "View | None":
        try:
            return self.ones[name]
        except KeyError:
            raise LookupError(f"{self.model}.{name} was not loaded") from None

    def many(self, name: str) -> list["View"]:
        try:
            return self.manys[name]
        except KeyError:
            raise LookupError(f"{self.model}.{name} was not loaded") from None


@dataclass(frozen=True, slots=True)
class Subject:
    """Who asks, and when: what `subject.*`, `now` and `today` read."""

    id: int
    username: str = ""
    groups: frozenset[int] = frozenset()
    roles: frozenset[str] = frozenset()
    now: datetime | None = None


@dataclass(frozen=True, slots=True)
class Env:
    subject: Subject
    now: datetime
    # may the subject <action> this record of <model>? (`can()`)
    can: Callable[[str, str, View], bool] = field(default=lambda action, model, view: False)


Evaluator = Callable[[View, View | None, Env], bool | None]


def evaluator(node: Node) -> Evaluator:
    """Compile `node` to a function of (record, it, env): True, False or None."""
    if isinstance(node, Junction):
        items = [evaluator(item) for item in node.items]
        return _junction(items, decisive=node.op == "or")
    if isinstance(node, Cmp):
        return _compare(node)
    if isinstance(node, Member):
        return _member(node)
    if isinstance(node, Null):
        get = reader(node.value)
        if node.negated:
            return lambda record, it, env: get(record, it, env) is not None
        return lambda record, it, env: get(record, it, env) is None
    if isinstance(node, Exists):
        return _exists(node)
    return _permit(node)


def _junction(items: list[Evaluator], decisive: bool) -> Evaluator:
    """`and` (one false item decides it) or `or` (one true item does), under SQL's logic:
    else unknown if an item is, else the other answer."""

    def junction(record: View, it: View | None, env: Env) -> bool | None:
        unknown = False
        for item in items:
            found = item(record, it, env)
            if found is decisive:
                return decisive
            if found is None:
                unknown = True
        return None if unknown else not decisive

    return junction


def _compare(node: Cmp) -> Evaluator:
    left, right, compare = reader(node.left), reader(node.right), OPERATORS[node.op]

    def comparison(record: View, it: View | None, env: Env) -> bool | None:
        a = left(record, it, env)
        if a is None:
            return None
        b = right(record, it, env)
        if b is None:
            return None
        return compare(a, b)

    return comparison


def _member(node: Member) -> Evaluator:
    get = reader(node.value)
    negated = node.negated
    if isinstance(node.items, Var):
        source = reader(node.items)

        def items_of(record: View, it: View | None, env: Env) -> Iterable[Any]:
            return source(record, it, env)  # type: ignore[no-any-return]

    else:
        fixed = [item.value for item in node.items]

        def items_of(record: View, it: View | None, env: Env) -> Iterable[Any]:
            return fixed

    def member(record: View, it: View | None, env: Env) -> bool | None:
        items = list(items_of(record, it, env))
        if not items:  # SQL: x IN () is false, whatever x is
            return negated
        value = get(record, it, env)
        if value is None:
            return None
        if any(item is not None and item == value for item in items):
            return not negated
        if any(item is None for item in items):
            return None
        return negated

    return member


def _exists(node: Exists) -> Evaluator:
    walk = _walker(node.root, node.hops)
    body = evaluator(node.body)
    name, negated = node.many.name, node.negated

    def exists(record: View, it: View | None, env: Env) -> bool:
        owner = walk(record, it)
        found = owner is not None and any(
            body(record, row, env) is True for row in owner.many(name)
        )
        return found != negated

    return exists


def _permit(node: Permit) -> Evaluator:
    walk = _walker(node.root, node.hops)
    action, model, negated = node.action, node.model, node.negated

    def permit(record: View, it: View | None, env: Env) -> bool:
        target = walk(record, it)
        return (target is not None and env.can(action, model, target)) != negated

    return permit


def _walker(root: str, hops: Iterable[Any]) -> Callable[[View, View | None], View | None]:
    names = [hop.name for hop in hops]
    from_it = root == "it"

    def walk(record: View, it: View | None) -> View | None:
        view = it if from_it else record
        for name in names:
            if view is None:
                return None
            view = view.one(name)
        return view

    return walk


def reader(value: Value) -> Callable[[View, View | None, Env], Any]:
    if isinstance(value, Const):
        constant = value.value
        return lambda record, it, env: constant
    if isinstance(value, Var):
        return _variable(value.name)
    assert isinstance(value, Ref)
    column = value.column.name
    if not value.hops:
        if value.root == "it":
            return lambda record, it, env: it.get(column) if it is not None else None
        return lambda record, it, env: record.get(column)
    walk = _walker(value.root, value.hops)

    def related(record: View, it: View | None, env: Env) -> Any:
        view = walk(record, it)
        return view.get(column) if view is not None else None

    return related


# What `subject.*`, `now` and `today` read of who asks and when.
VARIABLES: dict[str, Callable[[Subject, datetime], Any]] = {
    "subject.id": lambda subject, now: subject.id,
    "subject.username": lambda subject, now: subject.username,
    "subject.groups": lambda subject, now: subject.groups,
    "subject.roles": lambda subject, now: subject.roles,
    "now": lambda subject, now: now,
    "today": lambda subject, now: now.date(),
}


def _variable(name: str) -> Callable[[View, View | None, Env], Any]:
    read = VARIABLES[name]
    return lambda record, it, env: read(env.subject, env.now)


@dataclass
class Needs:
    """The related records a condition reads of a record: to-one relations, to-many ones
    (each with what is read of them), and the records `can()` decides on."""

    ones: dict[str, "Needs"] = field(default_factory=dict)
    manys: dict[str, "Needs"] = field(default_factory=dict)
    permits: set[tuple[str, str]] = field(default_factory=set)  # (action, model) asked here

    @property
    def empty(self) -> bool:
        return not (self.ones or self.manys or self.permits)

    def merge(self, other: "Needs") -> None:
        for name, sub in other.ones.items():
            self.ones.setdefault(name, Needs()).merge(sub)
        for name, sub in other.manys.items():
            self.manys.setdefault(name, Needs()).merge(sub)
        self.permits |= other.permits


def needs(node: Node) -> Needs:
    """What `node` reads beyond the record's own columns."""
    found = Needs()
    _collect(node, found, None)
    return found


def _collect(node: Node, record: Needs, it: Needs | None) -> None:
    def at(root: str, hops: Iterable[Any]) -> Needs:
        place = it if root == "it" and it is not None else record
        for hop in hops:
            place = place.ones.setdefault(hop.name, Needs())
        return place

    if isinstance(node, Junction):
        for item in node.items:
            _collect(item, record, it)
    elif isinstance(node, Cmp):
        for side in (node.left, node.right):
            if isinstance(side, Ref):
                at(side.root, side.hops)
    elif isinstance(node, Member | Null):
        if isinstance(node.value, Ref):
            at(node.value.root, node.value.hops)
    elif isinstance(node, Exists):
        owner = at(node.root, node.hops)
        rows = owner.manys.setdefault(node.many.name, Needs())
        _collect(node.body, record, rows)
    else:
        target = at(node.root, node.hops)
        target.permits.add((node.action, node.model))
