"""Build a resource's JSON routes from its registry entry."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.api.access import Authorize, AuthorizedRecord, ReadableRecord
from app.api.deps import AccessDep, SessionDep, SettingsDep
from app.api.dry_run import dry_run_param
from app.api.export import csv_response, wants_csv
from app.api.listing import filter_parameters, list_params
from app.api.statuses import BODY, answers
from app.core.lists import ListParams
from app.core.routing import JSONRoute
from app.resources import Resource
from app.schemas.common import Page
from app.schemas.dry_run import dry_run_schema
from app.services.access import Access
from app.services.what_if import try_update
from app.services.writes import create_record, delete_record, update_record

FORMAT = (
    "csv: every record the list selects (search, filters, sort; not one page), streamed as "
    "CSV; the same as asking with `Accept: text/csv`"
)
CSV_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
}


def build_router(res: Resource) -> APIRouter:
    """Return list/create/read/update/delete routes for `res`, each behind the enforcer."""
    router = APIRouter(prefix=f"/{res.path}", tags=[res.label], route_class=JSONRoute)
    Read = res.read_schema
    ListQuery = Annotated[ListParams, Depends(list_params(res))]

    # A delete can leave nobody able to manage users and roles only on these (409).
    guarded = bool(res.managing_fields or res.crud.restricting)
    update_answers = (401, 403, 404, 409, *BODY, *((429,) if res.confirms_secret else ()))

    @router.get(
        "",
        response_model=Page[Read],
        name=f"list_{res.path}",
        responses=answers(401, 403) | CSV_ANSWER,
        openapi_extra={"parameters": filter_parameters(res)},
    )
    async def list_records(
        request: Request,
        access: Annotated[Access, Authorize(res, "read")],
        params: ListQuery,
        session: SessionDep,
        format: Annotated[Literal["json", "csv"] | None, Query(description=FORMAT)] = None,
    ) -> Any:
        if wants_csv(request, format):
            return await csv_response(request, access, res, params, session)
        page = await access.readable(res, session, params)
        return {
            "items": page.items,
            "total": page.total,
            "limit": params.limit,
            "offset": params.offset,
            "total_exact": page.total_exact,
            "next_cursor": page.next_cursor,
        }

    @router.get("/{id}", response_model=Read, name=f"read_{res.path}", responses=answers(401, 404))
    async def read_record(
        record: Annotated[Any, ReadableRecord(res)],
    ) -> Any:
        return record

    if res.create_schema is not None:
        Create = res.create_schema

        @router.post(
            "",
            response_model=Read,
            status_code=status.HTTP_201_CREATED,
            name=f"create_{res.path}",
            responses=answers(401, 403, 409, *BODY),
        )
        async def create(
            obj_in: Create,  # type: ignore[valid-type]
            access: Annotated[Access, Authorize(res, "create")],
            session: SessionDep,
            settings: SettingsDep,
        ) -> Any:
            return await create_record(
                res=res, access=access, session=session, settings=settings, obj_in=obj_in
            )

    if res.update_schema is not None:
        Update = res.update_schema
        # Where an update can be tried first, it answers the record or (`?dry_run=1`) its effect.
        Updated: Any = Read
        if res.holders is not None:
            Updated = Read | dry_run_schema(f"{res.model.__name__}DryRun", res.policy_model)
        DryRun = Annotated[bool, Depends(dry_run_param(res))]

        @router.put(
            "/{id}",
            response_model=Updated,
            name=f"update_{res.path}",
            responses=answers(*update_answers),
        )
        async def update(
            obj_in: Update,  # type: ignore[valid-type]
            record: Annotated[Any, AuthorizedRecord(res, "update")],
            access: AccessDep,
            session: SessionDep,
            settings: SettingsDep,
            dry_run: DryRun,
        ) -> Any:
            write = try_update if dry_run else update_record
            return await write(
                res=res,
                access=access,
                session=session,
                settings=settings,
                record=record,
                values=obj_in.model_dump(exclude_unset=True),
            )

    @router.delete(
        "/{id}",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        name=f"delete_{res.path}",
        responses=answers(401, 403, 404, *((409,) if guarded else ())),
    )
    async def delete(
        record: Annotated[Any, AuthorizedRecord(res, "delete")],
        access: AccessDep,
        session: SessionDep,
    ) -> Response:
        await delete_record(res=res, access=access, session=session, record=record)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
