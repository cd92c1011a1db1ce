"""Print microseconds per policy decision, cached and uncached, at two policy sizes.

Usage: python scripts/bench_policy.py [--seconds 0.5]

Policies are built in memory from policy/model.conf: the seeded policy (the contract's
three roles, admin and demo) and a synthetic one of 1,000 lines. Columns: Casbin asked over
every line (plain `enforce()`), asked over the lines the index finds (`PolicyEngine.decide`,
the uncached decision the app takes: its cost does not grow with the lines), and the cached
answer. Each figure is the median of several timed rounds; the ratio compares the cached
answer with plain `enforce()` of the same run.
"""

import argparse
import random
import statistics
import time
from collections.abc import Callable

import casbin

from app.core.enforcer import MODEL_PATH, PolicyEngine, group_sub, role_sub, user_sub
from app.core.permissions import ACTIONS, SCOPES
from app.init_db import default_role_permissions
from app.resources import PERMISSION_MODELS

Request = tuple[str, str, str, str, str]


def seeded_rules() -> list[list[str]]:
    """Return the Casbin lines init_db produces: p per role grant, g and g2 per user."""
    rules = []
    for number, (_, grants) in enumerate(sorted(default_role_permissions().items()), 1):
        for grant in sorted(grants):
            rules.append(["p", role_sub(number), *grant.split(":")])
    rules += [["g", user_sub(1), role_sub(1)], ["g", user_sub(2), role_sub(3)]]
    rules.append(["g2", user_sub(2), group_sub(1)])
    return rules


def synthetic_rules(lines: int, rng: random.Random) -> list[list[str]]:
    """Return `lines` Casbin lines: random grants to 40 roles, 300 users in 30 groups."""
    rules = seeded_rules()
    users = 300
    for uid in range(3, users + 3):
        rules.append(["g", user_sub(uid), role_sub(rng.randrange(1, 41))])
        rules.append(["g2", user_sub(uid), group_sub(rng.randrange(1, 31))])
    seen = {tuple(r) for r in rules}
    while len(rules) < lines:
        rule = [
            "p",
            role_sub(rng.randrange(4, 41)),
            rng.choice(PERMISSION_MODELS),
            rng.choice(ACTIONS),
            rng.choice(SCOPES),
        ]
        if tuple(rule) not in seen:
            seen.add(tuple(rule))
            rules.append(rule)
    return rules[:lines]


def build(rules: list[list[str]]) -> casbin.Enforcer:
    enforcer = casbin.Enforcer(str(MODEL_PATH))
    for ptype, *values in rules:
        if ptype == "p":
            enforcer.add_policy(*values)
        else:
            enforcer.add_named_grouping_policy(ptype, *values)
    return enforcer


def requests(count: int, users: int, rng: random.Random) -> list[Request]:
    """Return decision requests like the request path makes: owners mine, others', none."""
    made = []
    for _ in range(count):
        uid = rng.randrange(1, users + 1)
        sub = user_sub(uid)
        owner = rng.choice([sub, user_sub(rng.randrange(1, users + 1)), ""])
        group = rng.choice([group_sub(rng.randrange(1, 31)), ""])
        made.append((sub, rng.choice(PERMISSION_MODELS), rng.choice(ACTIONS), owner, group))
    return made


def per_call(fn: Callable[[Request], object], reqs: list[Request], seconds: float) -> float:
    """Return the median microseconds per call over rounds lasting about `seconds` in all."""
    rounds: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(rounds) < 3:
        start = time.perf_counter()
        for request in reqs:
            fn(request)
        rounds.append((time.perf_counter() - start) / len(reqs) * 1e6)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per measurement")
    args = parser.parse_args()
    rng = random.Random(20261127)

    print(
        f"{'policy':>14} {'lines':>6} {'every line us':>14} {'indexed us':>11} "
        f"{'cached us':>10} {'ratio':>8}"
    )
    for label, rules, users in (
        ("seeded", seeded_rules(), 2),
        ("synthetic", synthetic_rules(1000, rng), 302),
    ):
        enforcer = build(rules)
        reqs = requests(200, users, rng)
        engine = PolicyEngine(enforcer, revision=0)
        for request in reqs:  # warm the cache: the request path's steady state
            engine.enforce(*request)
        mismatches = sum(engine.enforce(*r) != enforcer.enforce(*r) for r in reqs)
        if mismatches:
            raise SystemExit(f"cache disagrees with enforce() on {mismatches} requests")
        uncached = per_call(lambda r, e=enforcer: e.enforce(*r), reqs[:50], args.seconds)
        indexed = per_call(lambda r, e=engine: e.decide(*r), reqs[:50], args.seconds)
        cached = per_call(lambda r, e=engine: e.enforce(*r), reqs, args.seconds)
        print(
            f"{label:>14} {len(rules):>6} {uncached:>14.1f} {indexed:>11.1f} {cached:>10.2f} "
            f"{uncached / cached:>7.0f}x"
        )


if __name__ == "__main__":
    main()
