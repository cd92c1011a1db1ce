"""Loading the stored policy: its rows streamed into a fresh enforcer, the lines Casbin does
not read kept beside it."""

import sys
from itertools import takewhile
from typing import Any

import casbin
from sqlalchemy import Engine, select
from sqlalchemy_adapter import Adapter

from app.core.enforcer import new_enforcer
from app.core.policy_lines import EXTRA_TYPES, is_value
from app.models import CasbinRule

# Rows read per round trip when loading the policy.
LOAD_BATCH = 10_000


class StreamingAdapter(Adapter):
    """`sqlalchemy_adapter`'s adapter, loading the rules as plain rows in batches (its own
    builds an ORM object per row and parses each back from text), values interned. A `p`
    line stored without a condition gets "" for it; the lines Casbin does not read (role
    names, conditions: `EXTRA_TYPES`) are kept in `extra` for the policy beside it."""

    extra: dict[str, list[list[str]]]

    def load_policy(self, model: Any) -> None:
        self.extra = {ptype: [] for ptype in EXTRA_TYPES}
        table = CasbinRule.__table__
        columns = [table.c[name] for name in ("ptype", "v0", "v1", "v2", "v3", "v4", "v5")]
        intern = sys.intern
        sections = model.model
        with self._engine.connect() as connection:
            result = connection.execution_options(yield_per=LOAD_BATCH).execute(
                select(*columns).order_by(table.c.id)
            )
            for row in result:
                ptype = row[0]
                section = sections.get(ptype[:1])
                if section is None or ptype not in section:
                    if ptype in self.extra:
                        self.extra[ptype].append(list(takewhile(is_value, row[1:])))
                    continue
                values: list[str] = []
                for value in row[1:]:
                    if value is None:
                        break
                    values.append(intern(value))
                assertion = section[ptype]
                if ptype == "p" and len(values) == len(assertion.tokens) - 1:
                    values.append("")  # no condition
                if len(values) == len(assertion.tokens):  # else Casbin could not evaluate it
                    assertion.policy.append(values)


def load_enforcer(engine: Engine) -> casbin.Enforcer:
    """Build a fresh enforcer from the policy rows stored in the database (the lines Casbin
    does not read in its `extra`)."""
    enforcer = new_enforcer()
    adapter = StreamingAdapter(engine, db_class=CasbinRule, create_table=False)
    enforcer.set_adapter(adapter)
    enforcer.load_policy()
    enforcer.extra = adapter.extra
    return enforcer
