"""What the policy holds beside Casbin's lines: each role's name (what `subject.roles`
reads) and each condition, compiled (what `holds()` evaluates). They are lines of the same
policy (`n, r:<id>, <name>`; `c, <id>, <model>, <name>, , , <expression>`), stored, synced,
announced and applied with the others."""

from collections.abc import Iterable, Mapping, Sequence

from app.core.conditions.catalog import ToOne
from app.core.conditions.checker import catalog
from app.core.conditions.compiled import Condition, compile_condition


class PolicyFacts:
    """The role names and the compiled conditions of one loaded policy."""

    def __init__(self, extra: Mapping[str, Iterable[Sequence[str]]]) -> None:
        self.role_names: dict[str, str] = {}
        self.conditions: dict[str, Condition] = {}
        self._related: dict[str, tuple[ToOne, ...]] = {}
        for line in extra.get("n", ()):
            self._name("+", tuple(line))
        for line in extra.get("c", ()):
            self._condition("+", tuple(line))

    def apply(self, changes: Iterable[Sequence[str]]) -> tuple[set[str], bool]:
        """Apply the changes of these types; return the roles renamed, and whether a
        condition changed (every cached answer may then differ)."""
        renamed: set[str] = set()
        conditions = False
        for change in changes:
            sign, ptype, values = change[0], change[1], tuple(change[2:])
            if ptype == "n" and self._name(sign, values):
                renamed.add(values[0])
            elif ptype == "c" and self._condition(sign, values):
                conditions = True
        return renamed, conditions

    def _name(self, sign: str, values: tuple[str, ...]) -> bool:
        if len(values) < 2:
            return False
        role, name = values[0], values[1]
        if sign == "+":
            self.role_names[role] = name
            return True
        if self.role_names.get(role) == name:  # a removal of what is no longer there: none
            del self.role_names[role]
            return True
        return False

    def related(self, model: str) -> tuple[ToOne, ...]:
        """The to-one relations of `model` some condition of it reads: what a read of one
        record by id fetches in the same statement, before the caller is known (a guess,
        cheap when wrong: a relation not fetched is loaded when a decision reads it)."""
        found = self._related.get(model)
        if found is None:
            names = {
                name
                for condition in self.conditions.values()
                if condition.model == model
                for name in condition.needs.ones
            }
            ones = catalog().entity(model).ones if names else {}
            found = self._related[model] = tuple(ones[name] for name in sorted(names))
        return found

    def _condition(self, sign: str, values: tuple[str, ...]) -> bool:
        if len(values) < 6:
            return False
        self._related.clear()
        cid, model, name, expression = values[0], values[1], values[2], values[5]
        if sign == "+":
            self.conditions[cid] = compile_condition(cid, model, name, expression)
            return True
        found = self.conditions.get(cid)
        if found is not None and (found.model, found.name, found.expression) == (
            model,
            name,
            expression,
        ):
            del self.conditions[cid]
            return True
        return False

    def condition_name(self, cid: str) -> str:
        found = self.conditions.get(cid)
        return found.name if found is not None else f"#{cid}"

    def permission_name(self, line: Sequence[str]) -> str:
        """`model:action:scope`, or `model:action:scope[condition]`, of a `p` line."""
        name = f"{line[1]}:{line[2]}:{line[3]}"
        if len(line) > 4 and line[4]:
            return f"{name}[{self.condition_name(line[4])}]"
        return name
