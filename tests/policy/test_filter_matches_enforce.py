"""The SQL list filter selects exactly the records the raw Casbin enforcer allows.

A seeded random population (users, groups, roles holding random subsets of the
permissions, memberships, and records of every model with random or NULL owners) is
written to the real database; then, for every (user, model), the ids returned by
`CRUDBase.list` under `scope_clause(scopes(user, model, "read"))` must equal the ids of
the records for which the uncached `enforcer.enforce(..., "read", owner, group)` is True.
Set POLICY_TEST_SEED to explore another population.
"""

import os
import random
import time
from collections import Counter

from app.core.decisions import RowScope
from app.core.enforcer import PolicyEngine, enforce_raw, group_sub, load_policy, user_sub
from app.core.lists import ListParams
from app.resources import RESOURCES
from tests.conftest import Backend
from tests.policy.population import open_db, owner_fields, populate, run

SEED = int(os.environ.get("POLICY_TEST_SEED", "20240611"))
MIN_SCENARIOS = 200
MIN_DECISIONS = 4000
UNLIMITED = ListParams(limit=1_000_000)


class RawDecisions:
    """The uncached enforcer's answers, remembered only for identical requests."""

    def __init__(self, policy: PolicyEngine) -> None:
        self.enforcer = policy.enforcer
        self.answers: dict[tuple[str, str, str, str, str], bool] = {}

    def __call__(
        self, user_id: int, perm: str, owner_user_id: int | None, owner_group_id: int | None
    ) -> bool:
        """Return `enforce()` on read for a record with these owner fields."""
        request = (
            user_sub(user_id),
            perm,
            "read",
            user_sub(owner_user_id) if owner_user_id is not None else "",
            group_sub(owner_group_id) if owner_group_id is not None else "",
        )
        answer = self.answers.get(request)
        if answer is None:
            answer = self.answers[request] = enforce_raw(self.enforcer, *request)
        return answer


async def check_population(backend: Backend, seed: int) -> Counter[str]:
    """Populate, then compare the list filter with the enforcer for every (user, model)."""
    stats: Counter[str] = Counter()
    rng = random.Random(seed)
    async with open_db(backend.settings) as sessions:
        async with sessions() as session, session.begin():
            population = await populate(session, rng, records=15)
        async with sessions() as session:
            policy = await load_policy(backend.settings)
            raw = RawDecisions(policy)
            for res in RESOURCES:
                records = await owner_fields(session, res)
                assert len(records) >= 15, f"{res.policy_model}: too few records generated"
                for user_id in population.user_ids:
                    scope = RowScope.of(policy.scopes(user_id, res.policy_model, "read"))
                    page = await res.crud.list(session=session, scope=scope, params=UNLIMITED)
                    listed = {row.id for row in page.items}
                    allowed = {
                        record_id
                        for record_id, owner, group in records
                        if raw(user_id, res.policy_model, owner, group)
                    }
                    assert listed == allowed, (
                        f"seed {seed}: user {user_id} {res.policy_model}:read: "
                        f"filter only {sorted(listed - allowed)}, "
                        f"enforce only {sorted(allowed - listed)}"
                    )
                    assert (page.total, page.total_exact) == (len(allowed), True)
                    stats["scenarios"] += 1
                    stats["decisions"] += len(records)
                    stats["allowed"] += len(allowed)
                    stats["denied"] += len(records) - len(allowed)
                    if not allowed:
                        stats["none visible"] += 1
                    elif len(allowed) == len(records):
                        stats["all visible"] += 1
                    else:
                        stats["some visible"] += 1
            stats["enforcer calls"] = len(raw.answers)
    return stats


def test_list_filter_equals_enforce_on_read(live: Backend) -> None:
    """Check the read list filter against the raw enforcer over a random population."""
    started = time.monotonic()
    stats = run(check_population(live, SEED))
    elapsed = time.monotonic() - started

    # Every (user, model): 20 users (18 generated, admin, demo) x 12 models.
    assert stats["scenarios"] == 20 * len(RESOURCES) >= MIN_SCENARIOS, stats
    # Every (user, model, record) decision, all compared.
    assert stats["decisions"] >= MIN_DECISIONS, stats
    # The population is varied enough for the comparison to mean something.
    assert stats["allowed"] > 0 and stats["denied"] > 0, stats
    assert stats["none visible"] > 0 and stats["all visible"] > 0, stats
    assert stats["some visible"] >= 20, stats
    print(f"\n{live.name} seed {SEED}: {dict(stats)} in {elapsed:.1f}s")
