"""A condition as the policy holds it: checked and compiled once per expression (not per
request), with what each decision asks of it.

Casbin's matcher calls `holds(r.rec, p.cond)`: `r.rec` is what the request knows of the
record (an `Asked` record, or a `Probe` of fixed answers when the policy is asked which
scopes a user holds), `p.cond` the id of the line's condition ("" for none).
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.core.conditions.checker import check_condition
from app.core.conditions.errors import ConditionError
from app.core.conditions.evaluate import Env, Evaluator, Needs, View, evaluator, needs
from app.core.conditions.tree import Node, Permit, permits_of

log = logging.getLogger(__name__)
COMPILED_KEPT = 4_096  # compiled expressions kept across revisions


@dataclass(frozen=True, eq=False)
class Condition:
    """One row of `conditions`, compiled; `tree` is None when its expression no longer
    checks against the schema (it is then true of nothing, and `policy lint` says why)."""

    id: str  # as a policy line holds it
    model: str
    name: str
    expression: str
    tree: Node | None
    error: str | None = None
    evaluate: Evaluator = field(default=lambda record, it, env: False)
    needs: Needs = field(default_factory=Needs)
    permits: tuple[Permit, ...] = ()

    @property
    def signature(self) -> tuple[str, str, str]:
        """What a statement built from this condition depends on."""
        return (self.id, self.model, self.expression)


_compiled: dict[tuple[str, str], tuple[Node | None, str | None, Evaluator, Needs]] = {}
compilations = 0  # expressions parsed and compiled so far (a test counts them)


def compile_condition(cid: Any, model: str, name: str, expression: str) -> Condition:
    """Compile one condition, reusing what an earlier revision compiled of the same text."""
    global compilations
    key = (model, expression)
    found = _compiled.get(key)
    if found is None:
        compilations += 1
        try:
            tree: Node | None = check_condition(model, expression)
            error = None
        except ConditionError as refusal:
            tree, error = None, str(refusal)
            log.warning("condition %s of %s does not check: %s", name, model, error)
        if tree is not None:
            found = (tree, None, evaluator(tree), needs(tree))
        else:
            found = (None, error, lambda record, it, env: False, Needs())
        if len(_compiled) >= COMPILED_KEPT:
            _compiled.clear()
        _compiled[key] = found
    tree, error, evaluate, wanted = found
    permits = tuple(permits_of(tree)) if tree is not None else ()
    return Condition(str(cid), model, name, expression, tree, error, evaluate, wanted, permits)


class Probe:
    """A stand-in record of which conditions hold: Casbin is asked with it to learn what a
    set of true conditions allows (the cached answer's key holds that set)."""

    __slots__ = ("true",)

    def __init__(self, true: frozenset[str] = frozenset()) -> None:
        self.true = true

    def holds(self, cid: str) -> bool:
        return cid in self.true


NOTHING = Probe()


class Asked:
    """A record a decision is asked about: its view, who asks and when, and the policy's
    conditions; each condition is evaluated at most once per decision."""

    __slots__ = ("_answers", "conditions", "env", "view")

    def __init__(self, view: View, env: Env, conditions: Mapping[str, Condition]) -> None:
        self.view = view
        self.env = env
        self.conditions = conditions
        self._answers: dict[str, bool] = {}

    def holds(self, cid: str) -> bool:
        found = self._answers.get(cid)
        if found is None:
            condition = self.conditions.get(cid)
            found = (
                condition is not None
                and condition.model == self.view.model
                and condition.evaluate(self.view, None, self.env) is True
            )
            self._answers[cid] = found
        return found


def holds(record: Any, cid: str) -> bool:
    """The function Casbin's matcher calls: does condition `cid` hold of the record?"""
    return record is not None and bool(record.holds(cid))
