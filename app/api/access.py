"""Access decisions: who may do what to which record, asked of the enforcer.

`Authorize` and `AuthorizedRecord` put a decision in a route's signature; `check_write`
decides on a create or update as the record would be after it; `owner_defaults` fills
the owner fields a create leaves out.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Cookie, Depends, HTTPException, Request, status
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.identity import (
    RECORD,
    SESSION_COOKIE,
    client_address,
    current_login,
    get_policy,
    signed_in_user,
)
from app.api.transaction import get_db
from app.core.enforcer import PolicyEngine, Scopes
from app.core.errors import FieldError, WriteError, invalid_reference
from app.core.numbers import INT_MAX
from app.crud.base import CRUDBase, count_each, get_many
from app.crud.login_session import Caller
from app.crud.paging import ListParams, PageResult
from app.crud.titles import Titled
from app.models import User
from app.resources import REGISTRY, Resource
from app.utils.permissions import RowScope, scope_clause


@dataclass
class Access:
    """The signed-in user together with the policy that decides for them."""

    user: Caller
    policy: PolicyEngine
    login_id: int | None = None  # the caller's login session (None: a bearer token)
    address: str | None = None  # where the request came from

    def scopes(self, policy_model: str, action: str) -> Scopes:
        return self.policy.scopes(self.user.id, policy_model, action)

    def can(
        self, policy_model: str, action: str, owner_user_id: int | None, owner_group_id: int | None
    ) -> bool:
        return self.policy.allows(self.user.id, policy_model, action, owner_user_id, owner_group_id)

    def can_record(self, policy_model: str, action: str, record: Any) -> bool:
        return self.can(policy_model, action, record.owner_user_id, record.owner_group_id)

    def where(self, model: Any, policy_model: str, action: str) -> ColumnElement[bool] | None:
        """Return the SQL filter for the rows this user may `action` (None: all rows)."""
        return scope_clause(model, self.scopes(policy_model, action))

    async def readable(
        self,
        res: Resource,
        session: AsyncSession,
        params: ListParams | None = None,
        named: Mapping[str, Resource] | None = None,
    ) -> PageResult:
        """Return one page of the records of `res` this user may read, and their total;
        with the titles of the records the `named` columns refer to (column -> their
        resource) that this user may read, read by the same statement."""
        titled = [
            Titled(
                column,
                target.model,
                target.title_fields,
                RowScope.of(self.scopes(target.policy_model, "read"), prefix=f"named{number}"),
                res.crud.relations[column][0] if column in res.crud.relations else None,
            )
            for number, (column, target) in enumerate((named or {}).items())
        ]
        return await res.crud.list(
            session=session,
            scope=RowScope.of(self.scopes(res.policy_model, "read")),
            params=params or ListParams(),
            search_columns=res.search_columns,
            plain=res.plain_reads,
            titled=titled,
        )

    async def readable_titles(self, res: Resource, session: AsyncSession, limit: int) -> list[Any]:
        """Return up to `limit` records of `res` this user may read, to name them in a picker."""
        where = self.where(res.model, res.policy_model, "read")
        return await res.crud.titles(session=session, where=where, limit=limit)

    async def titles_of(
        self, res: Resource, session: AsyncSession, ids: Iterable[int | None]
    ) -> dict[int, str]:
        """Return the titles of the records of `res` among `ids` this user may read (one
        statement; a record they may not read is left out, never named)."""
        wanted = sorted({row_id for row_id in ids if row_id is not None})
        if not wanted or not self.scopes(res.policy_model, "read").any:
            return {}
        where = self.where(res.model, res.policy_model, "read")
        found = await res.crud.titles(session=session, where=where, limit=len(wanted), ids=wanted)
        return {row.id: res.title_of(row) for row in found}

    async def readable_counts(
        self, resources: Sequence[Resource], session: AsyncSession
    ) -> list[int]:
        """Return how many records of each resource this user may read, in one statement."""
        queries = [(r.model, self.where(r.model, r.policy_model, "read")) for r in resources]
        return await count_each(session=session, queries=queries)


async def get_access(
    request: Request,
    session: Annotated[AsyncSession, Depends(get_db, scope="function")],
    session_id: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
) -> Access:
    """Return the signed-in user and the policy deciding for them (401 if nobody is).

    One dependency rather than a chain of them (session, user, required user, policy):
    FastAPI's solving of each cost more than the decision itself.
    """
    return await resolve_access(request, session, session_id)


async def resolve_access(
    request: Request,
    session: AsyncSession,
    session_id: str | None,
    record_of: tuple[CRUDBase[Any], int] | None = None,
) -> Access:
    """`get_access`, and (`record_of`) a record's plain row read in the same statement."""
    login = await current_login(request, session, session_id, record_of)
    user = signed_in_user(login)
    return Access(
        user=user,
        policy=await get_policy(request, session),
        login_id=login.id if login else None,
        address=client_address(request),
    )


def forbidden(detail: str = "Insufficient permissions") -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, detail)


def not_found(what: str = "Record") -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


def Authorize(res: Resource, action: str) -> Any:
    """Depend on a user holding some scope of `<res.policy_model>:<action>`; 403 otherwise."""

    async def dependency(access: Annotated[Access, Depends(get_access)]) -> Access:
        if not access.scopes(res.policy_model, action).any:
            raise forbidden()
        return access

    return Depends(dependency)


def AuthorizedRecord(
    res: Resource, action: str, *, unreadable: int = 404, plain: bool = False
) -> Any:
    """Depend on the record named by `{id}`: 404 if missing, `unreadable` if not readable
    (the API answers 404, as if missing; pages answer 403), 403 unless `action` is allowed.

    `plain`: a route that only shows the record as its read schema does gets a plain row
    where the resource allows it (`Resource.plain_reads`), else the ORM object.
    """
    plain = plain and res.plain_reads

    async def dependency(
        id: int,
        request: Request,
        session: Annotated[AsyncSession, Depends(get_db, scope="function")],
        session_id: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
    ) -> Any:
        # A plain row comes in the statement that resolves the caller: one round trip.
        record_of = (res.crud, id) if plain and 1 <= id <= INT_MAX else None
        access = await resolve_access(request, session, session_id, record_of)
        if not plain:
            record = await res.crud.get(session=session, id=id)
        elif RECORD in session.info:
            record = session.info[RECORD]
        else:  # out of range, or the caller was resolved earlier in this request
            record = await res.crud.read(session=session, id=id)
        if record is None:
            raise not_found(res.singular)
        if not access.can_record(res.policy_model, "read", record):
            raise not_found(res.singular) if unreadable == 404 else forbidden()
        if action != "read" and not access.can_record(res.policy_model, action, record):
            raise forbidden()
        return record

    return Depends(dependency)


def owner_defaults(res: Resource, access: Access, values: dict[str, Any]) -> dict[str, Any]:
    """Fill the owner fields a create left out: the caller and the caller's first group."""
    if res.model is User:  # a user row is owned by itself, and by no group unless named
        return values
    values = dict(values)
    values.setdefault("owner_user_id", access.user.id)
    if "owner_group_id" not in values:
        groups = access.policy.group_ids(access.user.id)
        values["owner_group_id"] = groups[0] if groups else None
    return values


def check_scopes(
    *, res: Resource, action: str, access: Access, values: dict[str, Any], record: Any | None
) -> None:
    """Refuse (403) a create or update the caller may not make, as the record would be after.

    `values` holds only the fields the client sent (plus owner defaults on create); the
    route's dependency has already checked an updated record as it is before.
    """
    privileged = res.privileged_fields & values.keys()
    if privileged and not access.scopes(res.policy_model, action).all:
        raise forbidden(
            f"changing {', '.join(sorted(privileged))} needs {res.policy_model}:{action}:all"
        )
    if record is None:
        # A new user row is owned by itself: never by the caller.
        owner_user_id = None if res.model is User else values.get("owner_user_id")
        owner_group_id = values.get("owner_group_id")
    else:
        owner_user_id = values.get("owner_user_id", record.owner_user_id)
        owner_group_id = values.get("owner_group_id", record.owner_group_id)
    if not access.can(res.policy_model, action, owner_user_id, owner_group_id):
        raise forbidden(f"{res.policy_model}:{action} does not cover a record with these owners")


async def reference_errors(
    *, res: Resource, access: Access, session: AsyncSession, values: dict[str, Any]
) -> list[FieldError]:
    """Return an error for each field naming ids that are missing or unreadable to the caller."""
    named: dict[str, tuple[Resource, list[int]]] = {}
    for field, target_path in res.references.items():
        if values.get(field) is not None:
            ids = values[field] if isinstance(values[field], list) else [values[field]]
            named[field] = (REGISTRY[target_path], ids)
    owner = values.get("owner_user_id")
    if owner is not None and res.model is not User and owner != access.user.id:
        named["owner_user_id"] = (REGISTRY["users"], [owner])
    group_id = values.get("owner_group_id")
    if group_id is not None and group_id not in access.policy.group_ids(access.user.id):
        named["owner_group_id"] = (REGISTRY["groups"], [group_id])
    errors: list[FieldError] = []
    for field, (target, ids) in named.items():
        try:
            rows = await get_many(session=session, model=target.model, ids=ids, field=field)
        except WriteError as exc:  # ids that name no record at all
            errors += exc.errors
            continue
        hidden = [row.id for row in rows if not access.can_record(target.policy_model, "read", row)]
        if hidden:
            errors += invalid_reference(field, hidden).errors
    return errors
