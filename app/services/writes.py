"""The one write path: the API and the HTML pages create and update records through here.

A write is checked on the record as it would be afterwards, in this order: the caller's
scopes and privileged fields (403), the records it names, the rules over several fields
and its table's own checks (422, every field at once), what it would grant that the
caller does not hold (403, `app/services/delegation.py`), then unique keys (409). Errors
come as `WriteError` (`app/core/errors.py`): the API answers them as JSON, the pages show
them at the fields.
"""

from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import Conflict, FieldError, NotFound, WriteError, clash
from app.core.security import passwords_for
from app.crud.base import Named, RecordGone
from app.crud.referrers import StillReferred
from app.resources import PERMISSION_MODELS, REGISTRY, Resource
from app.services import accounts
from app.services.access import Access
from app.services.checks import check_scopes, owner_defaults, reference_errors
from app.services.delegation import check_delegation

# Input fields stored only as a hash, under another column.
HASHED_FIELDS = {"password": "hashed_password"}


def rule_errors(res: Resource, whole: dict[str, Any]) -> list[FieldError]:
    """Return an error at each field of each rule of `res` the whole record breaks."""
    schema = res.create_schema
    if schema is None:
        return []
    record = {name: whole.get(name) for name in schema.model_fields}
    return [
        FieldError(field, rule.message, "rule")
        for rule in getattr(schema, "rules", ())
        if not rule.holds(record)
        for field in rule.fields
    ]


def as_stored(res: Resource, record: Any) -> dict[str, Any]:
    """Return the input fields of `res` as `record` holds them now (secrets left out)."""
    assert res.create_schema is not None
    return {
        name: getattr(record, name)
        for name in res.create_schema.model_fields
        if name not in HASHED_FIELDS and hasattr(record, name)
    }


async def check_write(
    *,
    res: Resource,
    action: str,
    access: Access,
    session: AsyncSession,
    values: dict[str, Any],
    whole: dict[str, Any],
    record: Any | None = None,
) -> Named:
    """Refuse a write (403, or `WriteError`); return the records its fields name.

    `values` holds what the client set (and, on create, the owner defaults); `whole` the
    record as the write would leave it, defaults included.
    """
    await check_scopes(
        res=res, action=action, access=access, session=session, values=values, record=record
    )
    errors, named = await reference_errors(res=res, access=access, session=session, values=values)
    errors += rule_errors(res, whole)
    if res.validate is not None:
        errors += await res.validate(
            session=session,
            values=values,
            whole=whole,
            named=named,
            record=record,
            models=PERMISSION_MODELS,
        )
    if errors:
        raise WriteError(errors)
    await check_delegation(res=res, access=access, session=session, values=values, record=record)
    unique = whole if record is None else values
    clashes = await res.crud.clashes(session=session, values=unique, record=record)
    if clashes:
        raise clash(clashes)
    return named


async def _hashed(values: dict[str, Any], settings: Settings) -> dict[str, Any]:
    values = dict(values)
    for field, column in HASHED_FIELDS.items():
        if field in values:
            secret = values.pop(field)
            if secret is not None:
                values[column] = await passwords_for(settings).hash(secret)
    return values


async def create_record(
    *,
    res: Resource,
    access: Access,
    session: AsyncSession,
    settings: Settings,
    obj_in: BaseModel,
) -> Any:
    """Create a record of `res` from validated input; owners default to the caller."""
    values = owner_defaults(res, access, obj_in.model_dump(exclude_unset=True))
    whole = obj_in.model_dump() | values
    named = await check_write(
        res=res, action="create", access=access, session=session, values=values, whole=whole
    )
    hashed = await _hashed(whole, settings)
    return await res.crud.create(session=session, values=hashed, named=named)


async def update_record(
    *,
    res: Resource,
    access: Access,
    session: AsyncSession,
    settings: Settings,
    record: Any,
    values: dict[str, Any],
) -> Any:
    """Change the fields in `values` of `record`, checked on the record as it would be after.

    A user's own new password needs the current one; a new password or a deactivation
    ends sessions and tokens; no change may leave nobody able to manage users and roles
    (`app/services/accounts.py`).
    """
    values = dict(values)
    if res.before_update is not None:
        await res.before_update(
            access=access, session=session, settings=settings, record=record, values=values
        )
    whole = as_stored(res, record) | values
    named = await check_write(
        res=res,
        action="update",
        access=access,
        session=session,
        values=values,
        whole=whole,
        record=record,
    )
    async with accounts.keeping_a_manager(session, res, values):
        try:
            saved = await res.crud.update(
                session=session,
                db_obj=record,
                values=await _hashed(values, settings),
                named=named,
            )
        except RecordGone:  # another request deleted it meanwhile
            raise NotFound(res.singular) from None
    if res.after_update is not None:
        await res.after_update(access=access, session=session, record=record, values=values)
    return saved


async def delete_record(
    *, res: Resource, access: Access, session: AsyncSession, record: Any
) -> None:
    """Delete `record` (404 when another request deleted it first; 409 when other rows
    still refer to it, saying which (by name where the caller may read them), or when that
    would leave nobody able to manage users and roles)."""
    title = res.title_of(record)
    async with accounts.keeping_a_manager(session, res, None):
        try:
            deleted = await res.crud.delete(session=session, db_obj=record)
        except StillReferred as exc:
            raise Conflict(await still_referred(res, access, session, title, exc)) from None
        if not deleted:
            raise NotFound(res.singular)


async def still_referred(
    res: Resource, access: Access, session: AsyncSession, title: str, refused: StillReferred
) -> str:
    """Say what keeps `title` from being deleted: "3 invoices" (counted only for a caller
    who may read every record of that table), "records of invoices", and the names of
    those the caller may read (`task:update:own[open]`)."""
    named = []
    counted = []
    shown = []
    for table, count in refused.referrers:
        referring = REGISTRY.get(table)
        label = referring.label.lower() if referring else table.replace("_", " ")
        if count and referring and access.scopes(referring.policy_model, "read").all:
            named.append(f"{count} {referring.singular.lower() if count == 1 else label}")
            counted.append(count)
        else:
            named.append(f"records of {label}")
        if referring and refused.examples.get(table):
            titles = await access.titles_of(referring, session, refused.examples[table])
            shown += [titles[row_id] for row_id in refused.examples[table] if row_id in titles]
    which = ", ".join(named) or "other records"
    verb = "refers" if counted == [1] and len(named) == 1 else "refer"
    names = f" ({', '.join(shown)}{', ...' if sum(counted) > len(shown) else ''})" if shown else ""
    return (
        f"{res.singular} “{title}” cannot be deleted: {which} still {verb} to it{names}. "
        "Delete those or change them first."
    )
