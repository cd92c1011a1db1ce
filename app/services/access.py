"""The access context: who is calling and the policy that decides for them, resolved once
per request (`app/api/identity.py`) and handed to everything that decides or reads.

Every decision goes through `app/core/decisions.py`: `allows` for one record (as stored, or
as a write would leave it), `where` and `readable` for the records of a list.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.callers import Caller, Login
from app.core.decisions import RowScope, decide, row_filter, row_scope
from app.core.enforcer import PolicyEngine, Scopes
from app.core.lists import ListParams, PageResult
from app.crud.base import count_each
from app.crud.titles import Titled, read_choices
from app.resources import Resource


@dataclass(frozen=True, slots=True)
class Access:
    """The signed-in user together with the policy that decides for them."""

    user: Caller
    policy: PolicyEngine
    login_id: int | None = None  # the caller's login session (None: a bearer token)
    address: str | None = None  # where the request came from

    @property
    def group_ids(self) -> list[int]:
        """The groups the caller is in, as the policy knows them."""
        return self.policy.group_ids(self.user.id)

    def scopes(self, policy_model: str, action: str) -> Scopes:
        return self.policy.scopes(self.user.id, policy_model, action)

    def allows(self, policy_model: str, action: str, record: Any) -> bool:
        """Decide on one record: as stored (an ORM object, a row) or as a write would leave
        it (a mapping of its fields)."""
        return decide(self.policy, self.user.id, policy_model, action, record)

    def where(self, res: Resource, action: str) -> ColumnElement[bool] | None:
        """Return the SQL filter for the rows of `res` this user may `action` (None: all)."""
        return row_filter(self.policy, self.user.id, res.policy_model, action, res.model)

    def row_scope(self, res: Resource, action: str, prefix: str = "scope") -> RowScope:
        return row_scope(self.policy, self.user.id, res.policy_model, action, prefix)

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
