"""Access decisions in a route's signature, and the checks of a write.

`Authorize` and `AuthorizedRecord` put a decision in a route's signature; `check_scopes`
decides on a create or update as the record would be after it; `owner_defaults` fills the
owner fields a create leaves out. Every decision is `Access.allows` (`app/core/decisions.py`).
"""

from typing import Annotated, Any

from fastapi import Cookie, Depends, HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.identity import SESSION_COOKIE, get_access, resolve_visitor, signed_in
from app.api.transaction import get_db
from app.core.errors import FieldError, WriteError, invalid_reference
from app.core.numbers import INT_MAX
from app.crud.base import Named, get_many
from app.resources import REGISTRY, Resource
from app.services.access import Access


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


def authorized(
    res: Resource, action: str, access: Access, record: Any, unreadable: int = 404
) -> Any:
    """Return `record` if the caller may `action` it: 404 if missing, `unreadable` if they
    may not read it (the API answers 404, as if missing; pages answer 403), else 403."""
    if record is None:
        raise not_found(res.singular)
    if not access.allows(res.policy_model, "read", record):
        raise not_found(res.singular) if unreadable == 404 else forbidden()
    if action != "read" and not access.allows(res.policy_model, action, record):
        raise forbidden()
    return record


def AuthorizedRecord(res: Resource, action: str, *, unreadable: int = 404) -> Any:
    """Depend on the record named by `{id}`, as an ORM object, decided by `authorized`."""

    async def dependency(
        id: int,
        access: Annotated[Access, Depends(get_access)],
        session: Annotated[AsyncSession, Depends(get_db, scope="function")],
    ) -> Any:
        record = await res.crud.get(session=session, id=id)
        return authorized(res, action, access, record, unreadable)

    return Depends(dependency)


def ReadableRecord(res: Resource) -> Any:
    """Depend on the record named by `{id}` for a route that only shows it (its read
    schema), decided by `authorized`; the route's only resolution of its caller.

    Where the resource reads plain rows (`Resource.plain_reads`), the row comes in the
    statement that resolves the caller: one round trip. Else the ORM object, right after.
    """

    async def dependency(
        id: int,
        request: Request,
        session: Annotated[AsyncSession, Depends(get_db, scope="function")],
        session_id: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
    ) -> Any:
        record_of = (res.crud, id) if res.plain_reads and 1 <= id <= INT_MAX else None
        visitor, record = await resolve_visitor(request, session, session_id, record_of)
        access = signed_in(visitor)
        if record_of is None:
            record = await res.crud.get(session=session, id=id)
        return authorized(res, "read", access, record)

    return Depends(dependency)


def owner_defaults(res: Resource, access: Access, values: dict[str, Any]) -> dict[str, Any]:
    """Fill the owner fields a create left out: the caller and the caller's first group
    (a record that owns itself, a user, keeps what was sent)."""
    if res.owns_itself:
        return values
    values = dict(values)
    values.setdefault("owner_user_id", access.user.id)
    if "owner_group_id" not in values:
        groups = access.group_ids
        values["owner_group_id"] = groups[0] if groups else None
    return values


def as_it_would_be(res: Resource, record: Any | None, values: dict[str, Any]) -> dict[str, Any]:
    """Return the attributes a record would have after a write of `values`: a new record's
    (nobody owns one that owns itself before it exists), or `record`'s columns updated."""
    if record is None:
        return values | {"owner_user_id": None} if res.owns_itself else dict(values)
    stored = {c.name: getattr(record, c.name) for c in res.model.__table__.columns}
    return stored | values


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
    if not access.allows(res.policy_model, action, as_it_would_be(res, record, values)):
        raise forbidden(f"{res.policy_model}:{action} does not cover a record with these owners")


async def reference_errors(
    *, res: Resource, access: Access, session: AsyncSession, values: dict[str, Any]
) -> tuple[list[FieldError], Named]:
    """Return an error for each field naming ids that are missing or unreadable to the
    caller, and the records each field names (read once: the write links them as read)."""
    named: dict[str, tuple[Resource, list[int]]] = {}
    for field, target_path in res.references.items():
        if values.get(field) is not None:
            ids = values[field] if isinstance(values[field], list) else [values[field]]
            named[field] = (REGISTRY[target_path], ids)
    owner = values.get("owner_user_id")
    if owner is not None and not res.owns_itself and owner != access.user.id:
        named["owner_user_id"] = (REGISTRY["users"], [owner])
    group_id = values.get("owner_group_id")
    if group_id is not None and group_id not in access.group_ids:
        named["owner_group_id"] = (REGISTRY["groups"], [group_id])
    errors: list[FieldError] = []
    found: Named = {}
    for field, (target, ids) in named.items():
        try:
            rows = await get_many(session=session, model=target.model, ids=ids, field=field)
        except WriteError as exc:  # ids that name no record at all
            errors += exc.errors
            continue
        found[field] = rows
        hidden = [row.id for row in rows if not access.allows(target.policy_model, "read", row)]
        if hidden:
            errors += invalid_reference(field, hidden).errors
    return errors, found
