"""Build a resource's HTML pages from its registry entry: list, detail, forms, delete."""

from collections.abc import Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.access import Authorize, AuthorizedRecord
from app.api.deps import AccessDep, CsrfProtected, SessionDep, SettingsDep
from app.api.listing import list_params
from app.core.errors import WriteError
from app.core.lists import COUNT_CAP, ListParams
from app.resources import REGISTRY, Resource
from app.routers.bulk import build_bulk_routes
from app.routers.context import PageContext, PageDep
from app.routers.forms import (
    FormField,
    form_errors,
    form_fields,
    parse_form,
    validate,
    with_choices,
)
from app.routers.members import build_member_routes, members_of
from app.routers.templating import redirect, render, templates
from app.services.access import Access
from app.services.audit_log import history
from app.services.checks import owner_defaults
from app.services.naming import (
    entry_names,
    filter_options,
    list_names,
    page_names,
)
from app.services.writes import create_record, delete_record, update_record


def template(res: Resource, page: str) -> str:
    """Return the resource's own template, falling back to the generic one."""
    names = [f"{res.path}/{page}.html", f"generic/{page}.html"]
    return templates.env.select_template(names).name  # type: ignore[return-value]


def visible_fields(
    res: Resource, access: Access, action: str, record: Any | None = None
) -> list[FormField]:
    """The form's inputs: privileged ones only for holders of `<perm>:<action>:all`; on
    one's own account, the current password (a new one needs it)."""
    assert res.create_schema is not None
    fields = form_fields(res, res.create_schema)
    if res.privileged_fields and not access.scopes(res.policy_model, action).all:
        fields = [f for f in fields if f.name not in res.privileged_fields]
    if action == "update":
        for item in fields:
            if item.widget == "password":
                item.required = False
        confirm = res.confirms_secret
        if confirm and record is not None and record.id == access.user.id:  # their own
            at = next(i for i, item in enumerate(fields) if item.widget == "password")
            label = confirm.replace("_", " ").capitalize()
            fields.insert(at, FormField(confirm, label, "password", False))
    return fields


def current_values(record: Any, fields: list[FormField]) -> dict[str, Any]:
    values = {}
    for item in fields:
        if item.widget != "password":
            values[item.name] = getattr(record, item.name, None)
    return values


def changed(record: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Keep only what an edit form really changes (the form always sends every field)."""
    out = {}
    for name, value in values.items():
        before = getattr(record, name, None) if name != "password" else None
        if isinstance(before, list) or name.endswith("_ids"):
            before = sorted(before or [])
            value = sorted(value or [])
        if value != before:
            out[name] = values[name]
    return out


def build_pages(res: Resource) -> APIRouter:
    """Return the HTML routes of `res`; every one asks the same enforcer as the API."""
    router = APIRouter(prefix=f"/{res.path}")
    ListQuery = Annotated[ListParams, Depends(list_params(res))]

    async def form_page(
        request: Request,
        page: PageContext,
        access: Access,
        session: Any,
        *,
        record: Any | None,
        values: dict[str, Any],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Response:
        action = "update" if record is not None else "create"
        fields = visible_fields(res, access, action, record)
        fields = await with_choices(fields, res, access, session)
        return render(
            request,
            template(res, "form"),
            {"res": res, "record": record, "fields": fields, "values": values, "errors": errors},
            status_code,
            page=page,
        )

    async def saved_or_form(
        request: Request,
        page: PageContext,
        access: Access,
        session: Any,
        write: Coroutine[Any, Any, Any] | None,
        done: str,
        *,
        record: Any | None,
        data: dict[str, Any],
        errors: dict[str, str],
    ) -> Response:
        """Run a valid form's write and go to the record; else show the form again (422)."""
        if write is not None:
            try:
                saved = await write
            except WriteError as exc:
                errors = form_errors(exc)
            else:
                said = f"{res.singular} “{res.title_of(saved)}” {done}."
                return redirect(request, f"/{res.path}/{saved.id}", said)
        return await form_page(
            request,
            page,
            access,
            session,
            record=record,
            values=data,
            errors=errors,
            status_code=422,
        )

    @router.get("", name=f"html_list_{res.path}")
    async def list_page(
        request: Request,
        page: PageDep,
        access: Annotated[Access, Authorize(res, "read")],
        params: ListQuery,
        session: SessionDep,
    ) -> Response:
        columns = res.list_columns or ("id",)
        result = await access.readable(res, session, params)
        options = await filter_options(access, session, res)
        names = await list_names(access, session, res, result.items, columns, options)
        return render(
            request,
            template(res, "list"),
            {
                "res": res,
                "items": result.items,
                "names": names,
                "filter_options": {
                    column: [(str(id), title) for id, title in titles.items()]
                    for column, titles in options.items()
                },
                "total": result.total,
                "total_exact": result.total_exact,
                "next_cursor": result.next_cursor,
                "count_cap": COUNT_CAP,
                "params": params,
                "can_create": res.create_schema is not None
                and access.scopes(res.policy_model, "create").any,
                "can_bulk_delete": access.scopes(res.policy_model, "delete").any,
                "can_revoke": res.path == "sessions"
                and access.scopes(res.policy_model, "delete").any,
            },
            page=page,
        )

    # Before `/{id}`: "bulk-delete" is no id.
    router.include_router(build_bulk_routes(res))

    if res.create_schema is not None:

        @router.get("/new", name=f"html_new_{res.path}")
        async def new_page(
            request: Request,
            page: PageDep,
            access: Annotated[Access, Authorize(res, "create")],
            session: SessionDep,
        ) -> Response:
            defaults = owner_defaults(res, access, {}) | {
                name: info.default
                for name, info in res.create_schema.model_fields.items()  # type: ignore[union-attr]
                if not info.is_required() and info.default is not None
            }
            return await form_page(
                request, page, access, session, record=None, values=defaults, errors={}
            )

        @router.post("", name=f"html_create_{res.path}", dependencies=[CsrfProtected])
        async def create(
            request: Request,
            page: PageDep,
            access: Annotated[Access, Authorize(res, "create")],
            session: SessionDep,
            settings: SettingsDep,
        ) -> Response:
            fields = visible_fields(res, access, "create")
            data = parse_form(fields, await request.form(), partial=False, zone=page.zone)
            for owner in ("owner_user_id", "owner_group_id"):
                if data.get(owner) is None:  # left blank: the caller's defaults apply
                    data.pop(owner, None)
            model, errors = validate(res.create_schema, data)  # type: ignore[arg-type]
            write = None
            if model is not None:
                write = create_record(
                    res=res, access=access, session=session, settings=settings, obj_in=model
                )
            return await saved_or_form(
                request,
                page,
                access,
                session,
                write,
                "created",
                record=None,
                data=data,
                errors=errors,
            )

    @router.get("/{id}", name=f"html_detail_{res.path}")
    async def detail_page(
        request: Request,
        page: PageDep,
        record: Annotated[Any, AuthorizedRecord(res, "read", unreadable=403)],
        access: AccessDep,
        session: SessionDep,
    ) -> Response:
        related = []
        for child_path, foreign_key in res.children:
            child = REGISTRY[child_path]
            if not access.scopes(child.policy_model, "read").any:
                continue
            found = await access.readable(
                child, session, ListParams(limit=50, filters=((foreign_key, record.id),))
            )
            related.append(
                {
                    "res": child,
                    "items": found.items,
                    "total": found.total,
                    "total_exact": found.total_exact,
                    "fk": foreign_key,
                }
            )
        shown = [name for name in res.read_schema.model_fields if not name.endswith("_ids")]
        names = await page_names(access, session, res, [record], shown)  # links: `linked`
        entries = await history(access, session, res, record)
        return render(
            request,
            template(res, "detail"),
            {
                "res": res,
                "record": record,
                "names": names,
                "related": related,
                "can_update": res.update_schema is not None
                and await access.decides(session, res, "update", record),
                "can_delete": await access.decides(session, res, "delete", record),
                "history": entries,
                "members": await members_of(access, session, res, record),
                # a record giving permissions (a role): the conditions its grants may carry
                "conditions": await condition_choices(access, session, res),
                "record_names": await entry_names(access, session, entries or []),
            },
            page=page,
        )

    if res.update_schema is not None:

        @router.get("/{id}/edit", name=f"html_edit_{res.path}")
        async def edit_page(
            request: Request,
            page: PageDep,
            record: Annotated[Any, AuthorizedRecord(res, "update", unreadable=403)],
            access: AccessDep,
            session: SessionDep,
        ) -> Response:
            fields = visible_fields(res, access, "update", record)
            return await form_page(
                request,
                page,
                access,
                session,
                record=record,
                values=current_values(record, fields),
                errors={},
            )

        @router.post("/{id}", name=f"html_update_{res.path}", dependencies=[CsrfProtected])
        async def update(
            request: Request,
            page: PageDep,
            record: Annotated[Any, AuthorizedRecord(res, "update", unreadable=403)],
            access: AccessDep,
            session: SessionDep,
            settings: SettingsDep,
        ) -> Response:
            fields = visible_fields(res, access, "update", record)
            form = await request.form()
            data = parse_form(fields, form, partial=True, zone=page.zone, record=record)
            model, errors = validate(res.update_schema, data)  # type: ignore[arg-type]
            write = None
            if model is not None:
                write = update_record(
                    res=res,
                    access=access,
                    session=session,
                    settings=settings,
                    record=record,
                    values=changed(record, model.model_dump(exclude_unset=True)),
                )
            return await saved_or_form(
                request,
                page,
                access,
                session,
                write,
                "saved",
                record=record,
                data=data,
                errors=errors,
            )

    # DELETE comes from the page's script, after its own confirmation; the POST form
    # serves browsers without script: it first shows a page asking to confirm.
    @router.delete("/{id}", name=f"html_delete_{res.path}", dependencies=[CsrfProtected])
    async def erase(
        request: Request,
        record: Annotated[Any, AuthorizedRecord(res, "delete", unreadable=403)],
        access: AccessDep,
        session: SessionDep,
    ) -> Response:
        title = res.title_of(record)
        await delete_record(res=res, access=access, session=session, record=record)
        return redirect(request, f"/{res.path}", f"{res.singular} “{title}” deleted.")

    @router.post("/{id}/delete", name=f"html_delete_form_{res.path}", dependencies=[CsrfProtected])
    async def delete_form(
        request: Request,
        page: PageDep,
        record: Annotated[Any, AuthorizedRecord(res, "delete", unreadable=403)],
        access: AccessDep,
        session: SessionDep,
    ) -> Response:
        if (await request.form()).get("confirm") is None:
            context = {"res": res, "record": record}
            return render(request, "generic/confirm_delete.html", context, page=page)
        return await erase(request, record, access, session)

    if res.members is not None:
        router.include_router(build_member_routes(res))
    return router


async def condition_choices(access: Access, session: AsyncSession, res: Resource) -> dict[int, str]:
    """The conditions the viewer may read (`model:name` by id), for the permissions beside a
    role's grid; none for a record that gives no permissions."""
    if res.holders is None:
        return {}
    conditions = REGISTRY["conditions"]
    return (await access.choices([conditions], session, limit=500))[conditions.path]
