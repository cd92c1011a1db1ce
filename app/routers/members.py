"""Members of a record: the records that link to it through a many-to-many field of theirs
(a role's users), listed on its page and added or removed there. Each change is an update
of the member (`role_ids` of a user) through the one write path: the same checks (a
privileged field needs `user:update:all`), the last-admin guard and the audit log.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.access import AuthorizedRecord
from app.api.deps import AccessDep, CsrfProtected, SessionDep, SettingsDep
from app.core.errors import NotFound, WriteError
from app.core.numbers import whole_number
from app.resources import REGISTRY, Resource
from app.routers.templating import redirect
from app.services.access import Access
from app.services.writes import update_record


def can_manage(access: Access, res: Resource) -> bool:
    """Whether the viewer may change members (the member's link field is privileged)."""
    assert res.members is not None
    target = REGISTRY[res.members[0]]
    return access.scopes(target.policy_model, "update").all


async def members_of(
    access: Access, session: AsyncSession, res: Resource, record: Any
) -> dict[str, Any] | None:
    """The members the viewer may read (by title), how many others, and who could be added."""
    if res.members is None:
        return None
    path, field = res.members
    target = REGISTRY[path]
    ids = await target.crud.ids_linked_to(session=session, field=field, id=record.id)
    titles = await access.titles_of(target, session, ids)
    managing = can_manage(access, res)
    candidates: list[tuple[int, str]] = []
    if managing:
        rows = await access.readable_titles(target, session, limit=1000)
        held = set(ids)
        candidates = [(row.id, target.title_of(row)) for row in rows if row.id not in held]
    return {
        "res": target,
        "shown": [(member, titles[member]) for member in ids if member in titles],
        "hidden": sum(1 for member in ids if member not in titles),
        "can_manage": managing,
        "candidates": candidates,
    }


def build_member_routes(res: Resource) -> APIRouter:
    """POST /{path}/{id}/members (add `member_id`) and .../members/{member_id}/remove."""
    assert res.members is not None
    path, field = res.members
    target = REGISTRY[path]
    router = APIRouter()  # included in the resource's pages, under its path
    Record = Annotated[Any, AuthorizedRecord(res, "read", unreadable=403)]

    async def change(
        request: Request,
        record: Any,
        member_id: int,
        adding: bool,
        access: Access,
        session: AsyncSession,
        settings: Any,
    ) -> Response:
        page = f"/{res.path}/{record.id}"
        member = await target.crud.get(session=session, id=member_id)  # None past INT_MAX
        if member is None or not await access.decides(session, target, "read", member):
            raise NotFound(target.singular)
        attribute, _ = target.crud.relations[field]
        held = {linked.id for linked in getattr(member, attribute)}
        wanted = held | {record.id} if adding else held - {record.id}
        name, title = target.title_of(member), res.title_of(record)
        try:
            await update_record(
                res=target,
                access=access,
                session=session,
                settings=settings,
                record=member,
                values={field: sorted(wanted)},
            )
        except WriteError as exc:
            return redirect(request, page, exc.errors[0].message, "error")
        said = f"{name} now holds {title}." if adding else f"{name} no longer holds {title}."
        return redirect(request, page, said)

    @router.post("/{id}/members", dependencies=[CsrfProtected])
    async def add_member(
        request: Request,
        record: Record,
        access: AccessDep,
        session: SessionDep,
        settings: SettingsDep,
    ) -> Response:
        chosen = whole_number((await request.form()).get("member_id"))
        if chosen is None:
            message = f"Choose a {target.singular.lower()} to add."
            return redirect(request, f"/{res.path}/{record.id}", message, "error")
        return await change(request, record, chosen, True, access, session, settings)

    @router.post("/{id}/members/{member_id}/remove", dependencies=[CsrfProtected])
    async def remove_member(
        request: Request,
        record: Record,
        member_id: int,
        access: AccessDep,
        session: SessionDep,
        settings: SettingsDep,
    ) -> Response:
        return await change(request, record, member_id, False, access, session, settings)

    return router
