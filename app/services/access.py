"""The access context: who is calling and the policy that decides for them, resolved once
per request (`app/api/identity.py`) and handed to everything that decides or reads.

Every decision goes through `app/core/decisions.py`: `allows` for one record (as stored, or
as a write would leave it), `where` and `readable` for the records of a list.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.callers import Caller, Login
from app.core.conditions.compiled import Asked
from app.core.conditions.evaluate import Env, Needs, Subject, View
from app.core.decisions import MAX_PERMIT_DEPTH, RowScope, decide, row_filter, row_scope
from app.core.enforcer import PolicyEngine, Scopes, user_sub
from app.core.lists import ListParams, PageResult
from app.crud.base import count_each
from app.crud.related import load_view
from app.crud.titles import Titled, read_choices
from app.resources import Resource


@dataclass(frozen=True, slots=True)
class Access:
    """The signed-in user together with the policy that decides for them."""

    user: Caller
    policy: PolicyEngine
    login_id: int | None = None  # the caller's login session (None: a bearer token)
    address: str | None = None  # where the request came from
    # The request's time: what conditions read as `now` and `today`.
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def group_ids(self) -> list[int]:
        """The groups the caller is in, as the policy knows them."""
        return self.policy.group_ids(self.user.id)

    def scopes(self, policy_model: str, action: str) -> Scopes:
        return self.policy.scopes(self.user.id, policy_model, action)

    @property
    def subject(self) -> Subject:
        """The caller as conditions read them (`subject.*`)."""
        return self.policy.subject(self.user.id, self.user.username)

    def allows(self, policy_model: str, action: str, record: Any, depth: int = 0) -> bool:
        """Decide on one record: as stored (an ORM object, a row) or as a write would leave
        it (a mapping of its fields); what its conditions read of related records loaded
        (`decides`), when the caller's grants carry conditions."""
        asked = None
        if depth <= MAX_PERMIT_DEPTH and self.conditioned(policy_model, action):
            view = record if isinstance(record, View) else View(policy_model, record)
            asked = Asked(view, self.env(depth), self.policy.conditions)
        return decide(self.policy, self.user.id, policy_model, action, record, asked)

    def env(self, depth: int = 0) -> Env:
        """What conditions evaluate against: the caller, the request's time, and `can()`."""

        def can(action: str, model: str, view: View) -> bool:
            return self.allows(model, action, view, depth + 1)

        return Env(self.subject, self.now, can)

    def conditioned(self, policy_model: str, action: str) -> bool:
        """Whether the caller's grants for this model and action carry conditions."""
        return bool(self.policy.conditions_of(user_sub(self.user.id), policy_model, action))

    def needs(self, policy_model: str, action: str) -> Needs:
        """What the conditions of the caller's grants read beyond a record's own columns."""
        found = Needs()
        for cid in self.policy.conditions_of(user_sub(self.user.id), policy_model, action):
            condition = self.policy.conditions.get(cid)
            if condition is not None:
                found.merge(condition.needs)
        return found

    async def decides(self, session: AsyncSession, res: Resource, action: str, record: Any) -> bool:
        """`allows`, what the conditions read of the record loaded first."""
        return self.allows(res.policy_model, action, await self.view(session, res, action, record))

    async def view(self, session: AsyncSession, res: Resource, action: str, record: Any) -> Any:
        """The record as the caller's conditions on `action` read it (itself when none)."""
        if not self.conditioned(res.policy_model, action):
            return record
        return await load_view(
            session, res.policy_model, record, self.needs(res.policy_model, action), self.needs
        )

    def where(self, res: Resource, action: str) -> ColumnElement[bool] | None:
        """Return the SQL filter for the rows of `res` this user may `action` (None: all)."""
        return row_filter(
            self.policy,
            self.user.id,
            res.policy_model,
            action,
            res.model,
            username=self.user.username,
            now=self.now,
        )

    def row_scope(self, res: Resource, action: str, prefix: str = "scope") -> RowScope:
        return row_scope(
            self.policy,
            self.user.id,
            res.policy_model,
            action,
            prefix,
            username=self.user.username,
            now=self.now,
        )

    async def readable(
        self, res: Resource, session: AsyncSession, params: ListParams | None = None
    ) -> PageResult:
        """Return one page of the records of `res` this user may read, and their total."""
        return await res.crud.list(
            session=session,
            scope=self.row_scope(res, "read"),
            params=params or ListParams(),
            search_columns=res.search_columns,
            plain=res.plain_reads,
        )

    async def readable_titles(self, res: Resource, session: AsyncSession, limit: int) -> list[Any]:
        """Return up to `limit` records of `res` this user may read, to name them in a picker."""
        return await res.crud.title_rows(
            session=session, fields=res.title_fields, where=self.where(res, "read"), limit=limit
        )

    async def choices(
        self, targets: Iterable[Resource], session: AsyncSession, limit: int
    ) -> dict[str, dict[int, str]]:
        """Up to `limit` records of each of `targets` this user may read, id -> title in id
        order, by table path, to offer them by name: one statement for every table they
        may read some of, none for the rest (no choices)."""
        distinct = {target.path: target for target in targets}
        readable = [
            target for target in distinct.values() if self.scopes(target.policy_model, "read").any
        ]
        wanted = [
            Titled(
                target.model,
                target.title_fields,
                self.row_scope(target, "read", prefix=f"choice{number}"),
            )
            for number, target in enumerate(readable)
        ]
        found = await read_choices(session, wanted, limit)
        titles: dict[str, dict[int, str]] = {path: {} for path in distinct}
        for target, rows in zip(readable, found, strict=True):
            titles[target.path] = {row[0]: target.title_from(row[0], row[1:]) for row in rows}
        return titles

    async def titles_of(
        self, res: Resource, session: AsyncSession, ids: Iterable[int | None]
    ) -> dict[int, str]:
        """Return the titles of the records of `res` among `ids` this user may read (one
        statement; a record they may not read is left out, never named)."""
        wanted = sorted({row_id for row_id in ids if row_id is not None})
        if not wanted or not self.scopes(res.policy_model, "read").any:
            return {}
        where = self.where(res, "read")
        found = await res.crud.title_rows(
            session=session, fields=res.title_fields, where=where, limit=len(wanted), ids=wanted
        )
        return {row.id: res.title_of(row) for row in found}

    async def readable_counts(
        self, resources: Sequence[Resource], session: AsyncSession
    ) -> list[int]:
        """Return how many records of each resource this user may read, in one statement."""
        queries = [(r.model, self.where(r, "read")) for r in resources]
        return await count_each(session=session, queries=queries)


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who sent a request: their login session (None: none named, or it expired), the
    access context when they are signed in and active (None: anonymous), their address."""

    login: Login | None
    access: Access | None
    address: str | None

    @property
    def user(self) -> Caller | None:
        return self.access.user if self.access is not None else None
