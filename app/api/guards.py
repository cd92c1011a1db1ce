"""Write guards: what a create or update may set, checked before crud is touched."""

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import Access, forbidden
from app.crud.base import CRUDBase, InvalidReference, ListParams, get_many
from app.models import User
from app.resources import REGISTRY, Resource
from app.schemas.common import INT_MAX


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


async def check_write(
    *,
    res: Resource,
    action: str,
    access: Access,
    session: AsyncSession,
    values: dict[str, Any],
    record: Any | None = None,
) -> None:
    """Refuse a create or update the caller may not make (403) or that names unseen rows (422).

    `values` holds only the fields the client sent (plus owner defaults on create). The
    record is checked as it would be after the change; the route's dependency has already
    checked it as it is before.
    """
    if res.privileged_fields & values.keys() and not access.scopes(res.perm, action).all:
        raise forbidden(
            f"changing {', '.join(sorted(res.privileged_fields & values.keys()))} "
            f"needs {res.perm}:{action}:all"
        )
    if record is None:
        # A new user row is owned by itself: never by the caller.
        owner_user_id = None if res.model is User else values.get("owner_user_id")
        owner_group_id = values.get("owner_group_id")
    else:
        owner_user_id = values.get("owner_user_id", record.owner_user_id)
        owner_group_id = values.get("owner_group_id", record.owner_group_id)
    # Scopes first: owners outside them are a 403 whether or not the caller can see them.
    if not access.can(res.perm, action, owner_user_id, owner_group_id):
        raise forbidden(f"{res.perm}:{action} does not cover a record with these owners")
    await check_references(res=res, access=access, session=session, values=values)


async def check_references(
    *, res: Resource, access: Access, session: AsyncSession, values: dict[str, Any]
) -> None:
    """Every id a write names must exist and be readable by the caller."""
    for field, target_path in res.references.items():
        if values.get(field) is None:
            continue
        target = REGISTRY[target_path]
        ids = values[field] if isinstance(values[field], list) else [values[field]]
        await _readable(access, session, target.perm, target.crud, ids, field)
    if values.get("owner_user_id") is not None and res.model is not User:
        owner = values["owner_user_id"]
        if owner != access.user.id:
            await _readable(
                access, session, "user", REGISTRY["users"].crud, [owner], "owner_user_id"
            )
    if values.get("owner_group_id") is not None:
        group_id = values["owner_group_id"]
        if group_id not in access.policy.group_ids(access.user.id):
            await _readable(
                access, session, "group", REGISTRY["groups"].crud, [group_id], "owner_group_id"
            )


async def _readable(
    access: Access,
    session: AsyncSession,
    perm: str,
    crud: CRUDBase[Any],
    ids: list[int],
    field: str,
) -> None:
    rows = await get_many(session=session, model=crud.model, ids=ids, field=field)
    hidden = [row.id for row in rows if not access.can_record(perm, "read", row)]
    if hidden:
        raise InvalidReference(field, hidden)


def list_params(res: Resource) -> Any:
    """Build the dependency that reads and validates a list request's query string."""
    filter_types = {
        name: TypeAdapter(res.read_schema.model_fields[name].annotation)
        for name in res.filter_columns
    }

    def dependency(
        request: Request,
        limit: int = 50,
        offset: int = 0,
        sort: str | None = None,
        q: str | None = None,
    ) -> ListParams:
        errors: list[dict[str, Any]] = []

        def fail(name: str, message: str) -> None:
            errors.append({"loc": ("query", name), "msg": message, "type": "value_error"})

        if not 1 <= limit <= 200:
            fail("limit", "limit must be between 1 and 200")
        if not 0 <= offset <= INT_MAX:
            fail("offset", f"offset must be between 0 and {INT_MAX}")
        if sort is not None and sort.removeprefix("-") not in res.sort_columns:
            fail("sort", f"sort must be one of {', '.join(res.sort_columns)} (- for descending)")
        if q is not None and ("\x00" in q or len(q) > 200):
            fail("q", "q must be at most 200 characters without NUL bytes")
        filters: list[tuple[str, Any]] = []
        for name, adapter in filter_types.items():
            raw = request.query_params.get(name)
            if raw is None or raw == "":
                continue
            try:
                value = adapter.validate_strings(raw)
            except ValidationError:
                fail(name, f"{name} has an invalid value")
                continue
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT_MAX:
                fail(name, f"{name} is out of range")
                continue
            filters.append((name, value))
        if errors:
            raise RequestValidationError(errors)
        return ListParams(
            limit=limit, offset=offset, sort=sort, q=q or None, filters=tuple(filters)
        )

    return dependency
