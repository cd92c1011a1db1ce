"""Casbin's loaded lines, indexed beside its enforcer, and the changes that move them.

A revision's changes travel as lines `("+" or "-", ptype, values...)`: announced on the
`NOTIFY` channel when they fit, recorded in `policy_change` for processes catching up.
The index finds the `p` lines that can match a request (its subject's and its roles', for
one model and action) and removes a line in O(1); the role graph is Casbin's default role
manager with its links kept in a set.
"""

import json
import sys
from collections.abc import Iterator
from typing import Any

import casbin
from casbin.rbac.default_role_manager.role_manager import Link, RoleManager

# The channel a policy sync announces its new revision on (PostgreSQL `NOTIFY`), with what
# it changed when that fits in a notification.
POLICY_CHANNEL = "policy_changed"
NOTICE_BYTES = 7_900  # PostgreSQL's limit is 8,000 bytes
# A revision describes at most this many changed lines (in `policy_change` and to the
# processes applying it); a larger change makes them load the whole policy.
POLICY_CHANGE_KEPT = 10_000
# How deep Casbin's role manager follows role links (pycasbin's default).
ROLE_DEPTH = 10
# One changed line: ("+" or "-", ptype, values...).
Change = tuple[str, ...]
# Lines of the policy Casbin does not read, kept beside it: a role's name
# (`n, r:<id>, <name>`), a condition (`c, <id>, <model>, <name>, , , <expression>`).
EXTRA_TYPES = ("n", "c")


def is_value(value: str | None) -> bool:
    """Whether a stored rule's column holds a value (a rule ends at its first NULL)."""
    return value is not None


def encode_notice(revision: int, changes: list[Change] | None) -> str:
    """The NOTIFY payload announcing `revision`: with its changes when they fit."""
    if changes is not None:
        text = json.dumps({"revision": revision, "changes": changes}, separators=(",", ":"))
        if len(text) <= NOTICE_BYTES:
            return text
    return json.dumps({"revision": revision})


def decode_notice(payload: str) -> tuple[int, list[Change] | None] | None:
    """Read a payload `encode_notice` wrote (or a bare revision); None if it is neither."""
    try:
        found = json.loads(payload)
    except ValueError:
        return None
    if isinstance(found, int) and not isinstance(found, bool):
        return (found, None) if found >= 0 else None
    if not isinstance(found, dict):
        return None
    revision, changes = found.get("revision"), found.get("changes")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 0:
        return None
    return revision, parse_changes(changes)


def parse_changes(changes: Any) -> list[Change] | None:
    """Changes as stored or announced, checked line by line; None if not a list of them."""
    if not isinstance(changes, list):
        return None
    parsed: list[Change] = []
    for change in changes:
        if not (
            isinstance(change, list)
            and len(change) >= 3
            and change[0] in ("+", "-")
            and all(isinstance(part, str) for part in change)
        ):
            return None
        parsed.append(tuple(change))
    return parsed


class Links(dict[Link, None]):
    """pycasbin's list of a role manager's links, as an ordered set: O(1) to find and remove
    (the list's `in` and `remove` cost a scan of every link at each change)."""

    def append(self, link: Link) -> None:
        self[link] = None

    def remove(self, link: Link) -> None:
        del self[link]


class RoleGraph(RoleManager):
    """Casbin's default role manager, with its links in a set, so a link is removed in O(1)
    (without matching functions, which this model does not use, nothing else changes)."""

    def __init__(self, max_hierarchy_level: int = ROLE_DEPTH) -> None:
        super().__init__(max_hierarchy_level)
        self.all_links = Links()

    def clear(self) -> None:
        super().clear()
        self.all_links = Links()

    def delete_link(self, name1: str, name2: str, *domain: str) -> None:
        if self.matching_func is not None:
            super().delete_link(name1, name2, *domain)
            return
        link = Link(name1, name2)
        if link in self.all_links:
            self.all_links.remove(link)
            self._get_role(name1).remove_role(self._get_role(name2))

    def reachable(self, name: str, *, users: bool = False) -> set[str]:
        """`name` and every name its links reach (roles, or with `users` those reaching it),
        as deep as `has_link` follows them."""
        if name not in self.all_roles:
            return {name}
        found = {name}
        level = [self.all_roles[name]]
        for _ in range(self.max_hierarchy_level - 1):
            following = {n for role in level for n in (role.users if users else role.roles)}
            level = [role for role in following if role.name not in found]
            if not level:
                break
            found.update(role.name for role in level)
        return found


class PolicyIndex:
    """Casbin's loaded lines, indexed beside its enforcer: each `p` line by its subject, model
    and action, and each line's position in Casbin's own list (a line is removed in O(1))."""

    def __init__(self, enforcer: casbin.Enforcer) -> None:
        self.enforcer = enforcer
        for ptype, assertion in enforcer.model["g"].items():
            if not isinstance(enforcer.rm_map.get(ptype), RoleGraph):  # an enforcer made elsewhere
                assertion.rm = enforcer.rm_map[ptype] = RoleGraph()
                assertion.build_role_links(assertion.rm)
        self.grants: dict[str, dict[tuple[str, str], list[list[str]]]] = {}
        self.at: dict[str, dict[tuple[str, ...], int]] = {}
        self.sections: dict[str, str] = {}
        for sec in ("p", "g"):
            for ptype, assertion in enforcer.model[sec].items():
                self.sections[ptype] = sec
                at: dict[tuple[str, ...], int] = {}
                unique: list[list[str]] = []
                for line in assertion.policy:
                    key = tuple(line)
                    if key in at:  # a rule stored twice: Casbin answers the same with one
                        continue
                    at[key] = len(unique)
                    unique.append(line)
                    if sec == "p":
                        self._grant(line)
                assertion.policy = unique
                self.at[ptype] = at

    def _grant(self, line: list[str]) -> None:
        self.grants.setdefault(line[0], {}).setdefault((line[1], line[2]), []).append(line)

    def graph(self, ptype: str = "g") -> RoleGraph:
        return self.enforcer.rm_map[ptype]

    def subjects(self, sub: str) -> set[str]:
        """The subject and every role the role graph gives it (what `g(r.sub, p.sub)` holds)."""
        return self.graph().reachable(sub)

    def candidates(self, sub: str, obj: str, act: str) -> list[list[str]]:
        """The `p` lines that can match a request: its subject's or roles', model, action."""
        found: list[list[str]] = []
        for subject in self.subjects(sub):
            lines = self.grants.get(subject)
            if lines:
                found.extend(lines.get((obj, act), ()))
        return found

    def lines_of(self, sub: str) -> Iterator[list[str]]:
        """Every `p` line of the subject and of the roles it holds."""
        for subject in self.subjects(sub):
            for lines in self.grants.get(subject, {}).values():
                yield from lines

    def change(self, sign: str, ptype: str, values: tuple[str, ...]) -> bool:
        """Add or remove one line (Casbin's list, the role graph, the index); whether it
        changed anything (adding a line present, or removing one absent, does not)."""
        sec = self.sections.get(ptype)
        if sec is None:
            return False
        at = self.at[ptype]
        assertion = self.enforcer.model[sec][ptype]
        policy = assertion.policy
        if sec == "p" and len(values) == len(assertion.tokens) - 1:
            values = (*values, "")  # a grant without a condition
        if sign == "+":
            if values in at or len(values) != len(assertion.tokens):
                return False
            line = [sys.intern(value) for value in values]
            at[values] = len(policy)
            policy.append(line)
            if sec == "p":
                self._grant(line)
            else:
                self.graph(ptype).add_link(line[0], line[1])
            return True
        index = at.pop(values, None)
        if index is None:
            return False
        line = policy[index]
        last = policy.pop()
        if index < len(policy):
            policy[index] = last
            at[tuple(last)] = index
        if sec == "p":
            by_subject = self.grants[line[0]]
            lines = by_subject[(line[1], line[2])]
            lines.remove(line)
            if not lines:
                del by_subject[(line[1], line[2])]
        else:
            self.graph(ptype).delete_link(line[0], line[1])
        return True

    def affected(self, ptype: str, values: tuple[str, ...]) -> set[str]:
        """The subjects whose decisions a change of this line can alter: the line's subject
        and every subject whose links reach it."""
        graph = self.graph("g" if ptype == "p" else ptype)
        return graph.reachable(values[0], users=True) if values else set()
