"""Why a condition is not true of a record, in words with the record's values:
`status is "done", the condition needs status != "done"`."""

from typing import Any

from app.core.conditions.evaluate import Env, View, evaluator, reader
from app.core.conditions.tree import (
    Cmp,
    Const,
    Exists,
    Junction,
    Member,
    Node,
    Null,
    Permit,
    Value,
    Var,
    render,
    render_literal,
    render_value,
)


def why_not(node: Node, record: View, env: Env, it: View | None = None) -> list[str]:
    """The tests of `node` that keep it from being true of `record`, each in words with the
    values it read (an `and`: each test not true; an `or`: every one of them)."""
    if evaluator(node)(record, it, env) is True:
        return []
    if isinstance(node, Junction):
        found = []
        for item in node.items:
            found += why_not(item, record, env, it)
        return found
    needs = f"the condition needs {_short(render(node))}"
    if isinstance(node, Cmp | Member | Null):
        shown = [
            f"{_short(render_value(side))} is {_shown(_read(side, record, it, env))}"
            for side in _sides(node)
            if not isinstance(side, Const)
        ]
        return [f"{' and '.join(shown)}, {needs}" if shown else needs]
    if isinstance(node, Exists):
        return [f"{'one' if node.negated else 'none'} of its {node.many.name} matches: {needs}"]
    assert isinstance(node, Permit)
    return [f"{needs}: {'it is allowed' if node.negated else 'it is not allowed'}"]


def _sides(node: Cmp | Member | Null) -> list[Value]:
    if isinstance(node, Cmp):
        return [node.left, node.right]
    if isinstance(node, Member):
        return [node.value, node.items] if isinstance(node.items, Var) else [node.value]
    return [node.value]


def _read(value: Value, record: View, it: View | None, env: Env) -> Any:
    return reader(value)(record, it, env)


def _shown(value: Any) -> str:
    if isinstance(value, frozenset | set | list | tuple):
        return "[" + ", ".join(render_literal(item) for item in sorted(value)) + "]"
    return render_literal(value)


def _short(text: str) -> str:
    """Paths read as the record's own: `record.project.status` is `project.status`."""
    return text.replace("record.", "")
