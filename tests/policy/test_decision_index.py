"""The decision index: Casbin asked over the lines that can match a request answers exactly
what Casbin asked over every line answers, on random policies of up to 10,000 lines, before
and after changes applied in place (with the decision cache kept across them).

The reference is plain pycasbin: its own role manager, every line in its list, `enforce()`.
"""

import random
from collections.abc import Callable

import casbin
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.conditions.compiled import Probe, holds
from app.core.decision_cache import DecisionCache
from app.core.enforcer import MODEL_PATH, PolicyEngine, enforce_raw, new_enforcer
from app.core.policy_lines import Change

Line = tuple[str, ...]
Request = tuple[str, str, str, str, str, Probe]
MODELS = ("task", "project", "customer", "comment")
ACTIONS = ("read", "create", "update", "delete")
SCOPES = ("all", "own", "group", "nonsense")
CONDITIONS = ("1", "2", "3")


def padded(ptype: str, values: list[str]) -> list[str]:
    """A grant stored without a condition holds "" for it (as the loader reads it)."""
    return [*values, ""] if ptype == "p" and len(values) == 4 else values


def reference(lines: set[Line]) -> casbin.Enforcer:
    """Plain pycasbin holding `lines`, the matcher's `holds()` registered."""
    enforcer = casbin.Enforcer(str(MODEL_PATH))
    enforcer.add_function("holds", holds)
    for ptype, *values in sorted(lines):
        enforcer.model[ptype[0]][ptype].policy.append(padded(ptype, values))
    enforcer.build_role_links()
    return enforcer


def engine_of(lines: list[Line]) -> PolicyEngine:
    """A PolicyEngine holding `lines` (duplicates included, as a table may hold them)."""
    enforcer = new_enforcer()
    for ptype, *values in lines:
        enforcer.model[ptype[0]][ptype].policy.append(padded(ptype, values))
    enforcer.build_role_links()
    return PolicyEngine(enforcer, revision=0)


class World:
    """Names for a random policy: users, roles (some in a hierarchy), groups."""

    def __init__(self, rng: random.Random, users: int, roles: int, groups: int) -> None:
        self.rng = rng
        self.users = [f"u:{i}" for i in range(1, users + 1)]
        self.roles = [f"r:{i}" for i in range(1, roles + 1)]
        self.groups = [f"g:{i}" for i in range(1, groups + 1)]

    def line(self) -> Line:
        rng = self.rng
        kind = rng.random()
        if kind < 0.6:  # a grant, now and then to a user directly or to a stranger
            sub = rng.choice(self.roles if rng.random() < 0.9 else [*self.users, "r:none"])
            scope = rng.choice(SCOPES) if rng.random() < 0.05 else rng.choice(SCOPES[:3])
            # now and then under a condition (the request's record says which hold)
            condition = rng.choice(CONDITIONS) if rng.random() < 0.3 else ""
            return ("p", sub, rng.choice(MODELS), rng.choice(ACTIONS), scope, condition)
        if kind < 0.8:  # a role held by a user, or by another role (cycles allowed)
            holder = rng.choice(self.users if rng.random() < 0.85 else self.roles)
            return ("g", holder, rng.choice(self.roles))
        member = rng.choice(self.users if rng.random() < 0.9 else self.groups)
        return ("g2", member, rng.choice(self.groups))

    def lines(self, count: int) -> list[Line]:
        found = [self.line() for _ in range(count)]
        # A few lines stored twice.
        return found + [self.rng.choice(found) for _ in range(count // 50)] if found else found

    def request(self) -> Request:
        rng = self.rng
        sub = rng.choice(self.users if rng.random() < 0.9 else self.roles)
        owner = rng.choice([sub, sub, "", rng.choice(self.users)])
        group = rng.choice([*self.groups, ""])
        true = frozenset(c for c in CONDITIONS if rng.random() < 0.5)
        return (sub, rng.choice(MODELS), rng.choice(ACTIONS), owner, group, Probe(true))


def compare(engine: PolicyEngine, lines: set[Line], world: World, requests: int) -> int:
    """Ask both `requests` random requests (the engine through its cache, twice); return
    how many were allowed."""
    expected = reference(lines)
    allowed = 0
    for _ in range(requests):
        request = world.request()
        answer = enforce_raw(expected, *request)
        assert engine.decide(*request) is answer, request
        assert engine.enforce(*request) is answer, request
        assert engine.enforce(*request) is answer, request
        allowed += answer
    return allowed


def change(world: World, lines: set[Line], count: int) -> list[Change]:
    """Random changes: lines added (new or present), lines removed (present or absent)."""
    rng = world.rng
    present = sorted(lines)
    found: list[Change] = []
    for _ in range(count):
        if present and rng.random() < 0.5:
            found.append(("-", *rng.choice(present)))
        elif rng.random() < 0.1:
            found.append(("-", *world.line()))
        else:
            found.append(("+", *world.line()))
    return found


def applied(lines: set[Line], changes: list[Change]) -> set[Line]:
    result = set(lines)
    for sign, *line in changes:
        (result.add if sign == "+" else result.discard)(tuple(line))
    return result


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    seed=st.integers(0, 2**32),
    size=st.sampled_from([0, 5, 60, 400, 2_000]),
    users=st.integers(1, 60),
    roles=st.integers(1, 25),
    groups=st.integers(1, 8),
)
def test_index_answers_as_every_line_does(
    seed: int, size: int, users: int, roles: int, groups: int
) -> None:
    world = World(random.Random(seed), users, roles, groups)
    stored = world.lines(size)
    engine = engine_of(stored)
    lines = set(stored)
    compare(engine, lines, world, requests=40)
    for revision in range(1, 4):
        changes = change(world, lines, world.rng.randrange(1, 30))
        assert engine.apply(revision, changes)
        lines = applied(lines, changes)
        compare(engine, lines, world, requests=40)
    # The engine's own list of lines is the set it was given and changed to.
    held = {("p", *line) for line in engine.enforcer.get_policy()}
    held |= {
        (ptype, *line)
        for ptype in ("g", "g2")
        for line in engine.enforcer.get_named_grouping_policy(ptype)
    }
    assert held == lines


def test_index_at_ten_thousand_lines() -> None:
    """One policy of 10,000 lines (1,000 users, 200 roles): the index and every line agree,
    before and after a revision, with both answers seen often."""
    world = World(random.Random(10_000), users=1_000, roles=200, groups=40)
    stored = world.lines(10_000)[:10_000]
    engine = engine_of(stored)
    lines = set(stored)
    world.request = grantee_requests(world, lines)  # type: ignore[method-assign]
    allowed = compare(engine, lines, world, requests=60)
    changes = change(world, lines, 200)
    assert engine.apply(1, changes)
    lines = applied(lines, changes)
    allowed += compare(engine, lines, world, requests=60)
    assert 10 < allowed <= 115  # neither answer degenerate (of 120)


def grantee_requests(world: World, lines: set[Line]) -> Callable[[], Request]:
    """Requests about what some role holder was granted (random ones are nearly all denied)."""
    grants = sorted(line for line in lines if line[0] == "p")
    holders = sorted(line for line in lines if line[0] == "g")
    plain = world.request

    def request() -> Request:
        rng = world.rng
        if rng.random() < 0.3:
            return plain()
        _, holder, role = rng.choice(holders)
        found = [g for g in grants if g[1] == role] or grants
        model, action = rng.choice(found)[2:4]
        owner = rng.choice([holder, ""])
        true = frozenset(c for c in CONDITIONS if rng.random() < 0.5)
        return (holder, model, action, owner, rng.choice([*world.groups, ""]), Probe(true))

    return request


def test_a_revision_out_of_order_is_refused() -> None:
    """apply() takes only the next revision; one already in force changes nothing."""
    engine = engine_of([("p", "r:1", "task", "read", "all"), ("g", "u:1", "r:1")])
    assert engine.decide("u:1", "task", "read", "", "")
    assert not engine.apply(2, [("-", "g", "u:1", "r:1")])
    assert engine.revision == 0 and engine.enforce("u:1", "task", "read", "", "")
    assert engine.apply(1, [("-", "g", "u:1", "r:1")])
    assert engine.apply(1, [("+", "g", "u:1", "r:1")])  # already in force: nothing
    assert engine.revision == 1 and not engine.enforce("u:1", "task", "read", "", "")
    # Lines of a type the model does not define, or of the wrong width, change nothing.
    assert engine.apply(2, [("-", "g3", "a", "b"), ("+", "p", "r:1"), ("+", "zz", "x")])
    assert engine.revision == 2
    assert engine.index.at["p"] == {("r:1", "task", "read", "all", ""): 0}


def test_a_change_drops_only_the_answers_it_can_affect() -> None:
    """A grant changed on a role drops the cached answers of its holders (directly or through
    another role), a membership change those of its user; everyone else's stay cached."""
    engine = engine_of(
        [
            ("p", "r:1", "task", "read", "all"),
            ("p", "r:2", "task", "read", "own"),
            ("g", "r:3", "r:1"),  # role 3 includes role 1
            ("g", "u:1", "r:1"),
            ("g", "u:2", "r:2"),
            ("g", "u:3", "r:3"),
            ("g2", "u:2", "g:1"),
        ]
    )
    key = ("task", "read", False, "", frozenset())
    for user in ("u:1", "u:2", "u:3"):
        engine.enforce(user, "task", "read", "", "")
    assert [engine.cache.get(user, key) for user in ("u:1", "u:2", "u:3")] == [True, False, True]
    asked = engine.asked
    assert engine.apply(1, [("-", "p", "r:1", "task", "read", "all")])
    # Role 1's holders, direct and through role 3, were asked again (by the new policy);
    # user 2's answer stayed as it was.
    assert engine.asked == asked + 2
    assert [engine.cache.get(user, key) for user in ("u:1", "u:2", "u:3")] == [False] * 3
    assert engine.apply(2, [("+", "p", "r:2", "task", "read", "all"), ("+", "g2", "u:1", "g:1")])
    assert engine.asked == asked + 4  # users 2 (role 2) and 1 (a membership); not user 3
    assert [engine.cache.get(user, key) for user in ("u:1", "u:2", "u:3")] == [False, True, False]


def test_the_cache_is_bounded_by_entries_and_by_bytes() -> None:
    """Past either bound the subjects asked about first are forgotten, down to three quarters."""
    cache = DecisionCache(entries=100, nbytes=10**9)
    for user in range(50):
        for n in range(4):
            cache.put(f"u:{user}", ("task", f"a{n}", False, ""), True)
    assert len(cache) <= 100 and cache.get("u:49", ("task", "a3", False, "")) is True
    assert cache.get("u:0", ("task", "a0", False, "")) is None
    small = DecisionCache(entries=10**9, nbytes=20_000)
    for user in range(500):
        small.put(f"u:{user}", ("task", "read", False, f"g:{user}"), True)
    assert 0 < small.bytes <= 20_000 + DecisionCache.ENTRY_BYTES * 2
    assert small.get("u:499", ("task", "read", False, "g:499")) is True
    assert small.get("u:0", ("task", "read", False, "g:0")) is None
    assert (
        small.drop(["u:499"]) == 1 and small.get("u:499", ("task", "read", False, "g:499")) is None
    )
