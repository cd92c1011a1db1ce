"""The records of one model a user may act on, as the policy answers it: a filter's parts."""

from dataclasses import dataclass

from app.core.conditions.compiled import Condition


@dataclass(frozen=True, slots=True)
class ConditionScope:
    """The records one condition's grants reach, where it holds: all, own, some groups'."""

    condition: Condition
    all: bool
    own: bool
    group_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class Scopes:
    """Which records of a model a user may act on: everything, own ones, or some groups',
    and what conditioned grants add where their conditions hold."""

    user_id: int
    all: bool
    own: bool
    group_ids: frozenset[int]
    conditional: tuple[ConditionScope, ...] = ()

    @property
    def any(self) -> bool:
        return self.all or self.own or bool(self.group_ids) or bool(self.conditional)
