"""Checks a parsed expression against the schema and types it (`tree.py`), or refuses it in
words with the position: unknown names, incompatible types, `== null`, more than two hops,
`can()` reaching the condition's own model again."""

import re
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from app.core.conditions import syntax
from app.core.conditions.catalog import Catalog, Entity, ToMany, ToOne
from app.core.conditions.errors import ConditionError
from app.core.conditions.tree import (
    FLIPPED,
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
    permits_of,
)

MAX_HOPS = 2
INT_RANGE = (-(2**63), 2**63 - 1)
MAX_DIGITS = 15  # significant digits of a decimal literal (exact in a double, as SQLite keeps)
VARIABLES = {
    "subject.id": "integer",
    "subject.username": "string",
    "subject.groups": "integer list",
    "subject.roles": "string list",
    "now": "time",
    "today": "date",
}
NUMBERS = frozenset({"integer", "decimal"})
ORDERED = frozenset({"integer", "decimal", "string", "date", "time"})
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

_catalog: Catalog | None = None


def install_catalog(models: Mapping[str, tuple[Any, Collection[str]]]) -> None:
    """Name the tables conditions may be written over: permission model -> its ORM class
    and the columns of it a condition may read."""
    global _catalog
    _catalog = Catalog(
        {model: found[0] for model, found in models.items()},
        {model: found[1] for model, found in models.items()},
    )


def catalog() -> Catalog:
    if _catalog is None:
        raise RuntimeError("no catalog installed (app/resources.py installs it)")
    return _catalog


def check_condition(
    model: str, expression: str, reaches: Mapping[str, Collection[str]] | None = None
) -> Node:
    """Return the typed tree of `expression` over `model`, or refuse it (ConditionError).

    `reaches` gives, for each model, the models its conditions name in `can()`: a `can()`
    that would come back to `model` through them is refused (the decision would loop)."""
    entities = catalog().entities
    if model not in entities:
        raise ConditionError(f"unknown model `{model}`; models: {', '.join(sorted(entities))}", -1)
    tree = Checker(entities, model).check(syntax.parse(expression), False, None)
    for permit in permits_of(tree):
        _refuse_cycle(model, permit, reaches or {})
    return tree


def can_targets(conditions: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """For each model, the models its conditions (`model, expression`) name in `can()`: what
    `check_condition` follows to refuse a loop. One that no longer checks names none."""
    found: dict[str, set[str]] = {}
    for model, expression in conditions:
        try:
            tree = check_condition(model, expression)
        except ConditionError:
            continue  # true of nothing: it asks nothing (`policy lint` reports it)
        found.setdefault(model, set()).update(permit.model for permit in permits_of(tree))
    return found


def _refuse_cycle(model: str, permit: Permit, reaches: Mapping[str, Collection[str]]) -> None:
    seen: set[str] = set()
    todo = [permit.model]
    while todo:
        found = todo.pop()
        if found == model:
            raise ConditionError(
                f'can("{permit.action}", {permit.root}.'
                f"{'.'.join(hop.name for hop in permit.hops)}) reaches {model} again, "
                "whose decision would then ask itself",
                -1,
            )
        if found not in seen:
            seen.add(found)
            todo.extend(reaches.get(found, ()))


class Checker:
    def __init__(self, entities: dict[str, Entity], model: str) -> None:
        self.entities = entities
        self.model = model

    def check(self, node: syntax.Node, negated: bool, it: Entity | None) -> Node:
        if isinstance(node, syntax.Not):
            return self.check(node.item, not negated, it)
        if isinstance(node, syntax.Junction):
            op = node.op if not negated else ("and" if node.op == "or" else "or")
            return Junction(op, tuple(self.check(item, negated, it) for item in node.items))
        if isinstance(node, syntax.Compare):
            return self.compare(node, negated, it)
        if isinstance(node, syntax.In):
            return self.member(node, negated, it)
        if isinstance(node, syntax.IsNull):
            return Null(self.value(node.value, it), node.negated != negated)
        if isinstance(node, syntax.AnyOf):
            root, hops, last = self.walk(node.path, it, "to-many")
            assert isinstance(last, ToMany)
            body = self.check(node.body, False, self.entities[last.model])
            return Exists(root, hops, last, body, negated)
        root, hops, last = self.walk(node.path, it, "to-one")
        assert isinstance(last, ToOne)
        return Permit(node.action, root, (*hops, last), negated)

    def compare(self, node: syntax.Compare, negated: bool, it: Entity | None) -> Cmp:
        left, right = self.value(node.left, it), self.value(node.right, it)
        for side, written in ((left, node.left), (right, node.right)):
            if side.kind == "null":
                raise ConditionError(
                    f"`{node.op} null` is never true: write `is null` or `is not null` "
                    f"at {written.position}",
                    written.position,
                )
            if side.kind.endswith("list"):
                raise ConditionError(
                    f"{side.name} is a list: use `in` at {written.position}",  # type: ignore[union-attr]
                    written.position,
                )
        left, right = self.coerce(left, right, node.left), self.coerce(right, left, node.right)
        if not (left.kind == right.kind or {left.kind, right.kind} <= NUMBERS):
            raise ConditionError(
                f"cannot compare {_words(left)} with {_words(right)} at {node.position}",
                node.position,
            )
        if node.op not in ("==", "!=") and left.kind not in ORDERED:
            raise ConditionError(
                f"{left.kind} values have no order: use == or != at {node.position}",
                node.position,
            )
        return Cmp(FLIPPED[node.op] if negated else node.op, left, right)

    def member(self, node: syntax.In, negated: bool, it: Entity | None) -> Member:
        value = self.value(node.left, it)
        if value.kind.endswith("list") or value.kind == "null":
            raise ConditionError(
                f"the left of `in` is one value at {node.left.position}", node.left.position
            )
        if isinstance(node.right, syntax.ListOf):
            items = tuple(
                self.coerce(self.value(item, it), value, item) for item in node.right.items
            )
            for item, written in zip(items, node.right.items, strict=True):
                if item.kind != "null" and not _comparable(value.kind, item.kind):
                    raise ConditionError(
                        f"cannot compare {_words(value)} with {_words(item)} at {written.position}",
                        written.position,
                    )
            return Member(value, items, node.negated != negated)  # type: ignore[arg-type]
        source = self.value(node.right, it)
        if not isinstance(source, Var) or not source.kind.endswith("list"):
            raise ConditionError(
                "`in` needs a list: [..] or subject.groups or subject.roles "
                f"at {node.right.position}",
                node.right.position,
            )
        if not _comparable(value.kind, source.kind.removesuffix(" list")):
            raise ConditionError(
                f"cannot look for {_words(value)} in {source.name} at {node.position}",
                node.position,
            )
        return Member(value, source, node.negated != negated)

    def coerce(self, value: Value, other: Value, written: Any) -> Value:
        """A string literal compared with a date or a time reads as ISO 8601."""
        if not (isinstance(value, Const) and value.kind == "string"):
            return value
        if other.kind == "date":
            if _DATE.fullmatch(value.value):
                try:
                    return Const(date.fromisoformat(value.value), "date")
                except ValueError:
                    pass
            raise ConditionError(
                f"{value.value!r} is not a date like 2026-01-31 at {written.position}",
                written.position,
            )
        if other.kind == "time":
            try:
                found = datetime.fromisoformat(value.value.replace("Z", "+00:00"))
                if found.tzinfo is None:
                    found = found.replace(tzinfo=UTC)
                return Const(found.astimezone(UTC), "time")
            except (ValueError, OverflowError):
                raise ConditionError(
                    f"{value.value!r} is not a time like 2026-01-31T09:00:00Z "
                    f"at {written.position}",
                    written.position,
                ) from None
        return value

    def value(self, node: syntax.Value, it: Entity | None) -> Value:
        if isinstance(node, syntax.Special):
            return Var(node.name, VARIABLES[node.name])
        if isinstance(node, syntax.Literal):
            return _literal(node)
        root, hops, last = self.walk(node, it, "column")
        return Ref(root, hops, last)  # type: ignore[arg-type]

    def walk(self, path: syntax.Path, it: Entity | None, wanted: str) -> tuple[str, Any, Any]:
        """Resolve `path`: the to-one hops, then its last name as `wanted` (a column, a
        to-one relation or a to-many one)."""
        if path.root == "it" and it is None:
            raise ConditionError(
                f"`it` names a row only inside any() at {path.position}", path.position
            )
        entity = it if path.root == "it" and it is not None else self.entities[self.model]
        hops: list[ToOne] = []
        *through, (last, last_at) = path.names
        for name, position in through:
            hop = entity.ones.get(name)
            if hop is None:
                raise self.unknown("relation", name, entity, position, entity.ones)
            hops.append(hop)
            entity = self.entities[hop.model]
        if len(hops) > MAX_HOPS:
            position = path.names[MAX_HOPS][1]
            raise ConditionError(
                f"{path.text} goes through {len(hops)} relations at {position}; at most {MAX_HOPS}",
                position,
            )
        found: Any = {
            "column": entity.columns,
            "to-one": entity.ones,
            "to-many": entity.manys,
        }[wanted].get(last)
        if found is None:
            self.misnamed(wanted, last, entity, last_at)
            names = {"column": entity.columns, "to-one": entity.ones, "to-many": entity.manys}
            raise self.unknown(
                "column" if wanted == "column" else f"{wanted} relation",
                last,
                entity,
                last_at,
                names[wanted],
            )
        if wanted == "to-one" and found.model == self.model:
            raise ConditionError(
                f"can() reaches {self.model} again through {path.text} at {path.position}",
                path.position,
            )
        return path.root, tuple(hops), found

    def misnamed(self, wanted: str, name: str, entity: Entity, position: int) -> None:
        """Refuse a name of the wrong sort in words: a relation where a value is wanted."""
        if wanted == "column" and (name in entity.ones or name in entity.manys):
            raise ConditionError(
                f"`{name}` of {entity.model} is a relation, not a value: name one of its "
                f"columns or compare `{name}_id` at {position}",
                position,
            )
        if wanted != "column" and name in entity.columns:
            raise ConditionError(
                f"`{name}` of {entity.model} is a column; "
                f"{'any()' if wanted == 'to-many' else 'can()'} needs a {wanted} relation "
                f"at {position}",
                position,
            )

    @staticmethod
    def unknown(
        what: str, name: str, entity: Entity, position: int, known: Mapping[str, Any]
    ) -> ConditionError:
        listed = ", ".join(sorted(known)) or "none"
        plural = "columns" if what == "column" else "relations"
        return ConditionError(
            f"unknown {what} `{name}` of {entity.model} at {position}; {plural}: {listed}",
            position,
        )


def _comparable(left: str, right: str) -> bool:
    return left == right or {left, right} <= NUMBERS


def _words(value: Value) -> str:
    if isinstance(value, Ref):
        return f"{value.text} (a {value.kind})"
    if isinstance(value, Var):
        return f"{value.name} (a {value.kind})"
    return f"a {value.kind}"


def _literal(node: syntax.Literal) -> Const:
    value = node.value
    if value is None:
        return Const(None, "null")
    if isinstance(value, bool):
        return Const(value, "boolean")
    if isinstance(value, int):
        if not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise ConditionError(
                f"{value} is out of range (a 64-bit integer) at {node.position}", node.position
            )
        return Const(value, "integer")
    if isinstance(value, Decimal):
        if len(value.as_tuple().digits) > MAX_DIGITS:
            raise ConditionError(
                f"{value} has more than {MAX_DIGITS} digits at {node.position}", node.position
            )
        return Const(value, "decimal")
    return Const(value, "string")
