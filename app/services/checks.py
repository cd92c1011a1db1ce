"""The checks of a write, on the record as it would be after it: the caller's scopes and
privileged fields (`Forbidden`), and the records its fields name (each must exist and be
readable to the caller). `owner_defaults` fills the owner fields a create leaves out."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import FieldError, Forbidden, WriteError, invalid_reference
from app.crud.base import Named, get_many
from app.resources import REGISTRY, Resource
from app.services.access import Access


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


async def check_scopes(
    *,
    res: Resource,
    action: str,
    access: Access,
    session: AsyncSession,
    values: dict[str, Any],
    record: Any | None,
) -> None:
    """Refuse (403) a create or update the caller may not make, as the record would be after.

    `values` holds only the fields the client sent (plus owner defaults on create); the
    route's dependency has already checked an updated record as it is before.
    """
    privileged = res.privileged_fields & values.keys()
    if privileged and not access.scopes(res.policy_model, action).all:
        raise Forbidden(
            f"changing {', '.join(sorted(privileged))} needs {res.policy_model}:{action}:all"
        )
    after = as_it_would_be(res, record, values)
    if not await access.decides(session, res, action, after):
        raise Forbidden(f"{res.policy_model}:{action} does not cover a record with these owners")


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
        hidden = [row.id for row in rows if not await access.decides(session, target, "read", row)]
        if hidden:
            errors += invalid_reference(field, hidden).errors
    return errors, found
