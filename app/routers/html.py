"""The HTML interface: sign-in pages, the dashboard, and every resource's pages."""

from dataclasses import replace
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.api.access import Authorize, AuthorizedRecord
from app.api.auditing import AuditQuery
from app.api.cookies import drop_session, give_session
from app.api.deps import AccessDep, CsrfProtected, LoginDep, SessionDep, SettingsDep
from app.api.identity import origin_of
from app.core import csrf
from app.core.errors import Throttled, WriteError
from app.core.lists import COUNT_CAP
from app.core.messages import throttled_message
from app.core.numbers import INT_MAX
from app.core.permissions import ACTIONS, SCOPES
from app.core.routing import PathGuard
from app.resources import PERMISSION_MODELS, REGISTRY, RESOURCES
from app.routers.context import PageContext, PageDep
from app.routers.forms import UNIQUE, FormField, query_errors, validate
from app.routers.pages import build_pages
from app.routers.templating import redirect, render, safe_next, templates
from app.schemas.user import LoginRequest, RegisterRequest
from app.services import accounts, signin
from app.services.access import Access
from app.services.audit_log import check_reader, entries_page
from app.services.explain import explain
from app.services.what_if import conditioned_grant, matrix_change, try_update
from app.services.writes import update_record

router = APIRouter(include_in_schema=False)


def anonymous_page(
    request: Request, page: PageContext, name: str, context: dict[str, Any], status: int = 200
) -> Response:
    """Render a sign-in page; a visitor without a CSRF binding first gets one (a cookie)."""
    secret = None
    if page.user is None and page.csrf_token is None:
        secret = csrf.new_anonymous_secret()
        token = csrf.token_for(
            request.app.state.settings.secret_key, session_hash=None, anonymous=secret
        )
        page = replace(page, csrf_token=token)
    rendered = render(request, name, context, status, page=page)
    if secret is not None:
        rendered.set_cookie(
            csrf.ANON_COOKIE,
            secret,
            path=request.app.state.settings.cookie_path,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return rendered


@router.get("/")
async def home(request: Request, page: PageDep) -> RedirectResponse:
    return redirect(request, "/dashboard" if page.user else "/login")


@router.get("/login")
async def login_page(request: Request, page: PageDep, next: str | None = None) -> Response:
    if page.user is not None:
        return redirect(request, safe_next(next))
    return anonymous_page(request, page, "login.html", {"next": safe_next(next), "errors": {}})


@router.post("/login", dependencies=[CsrfProtected])
async def login(
    request: Request, page: PageDep, session: SessionDep, settings: SettingsDep
) -> Response:
    form = await request.form()
    username, password = str(form.get("username") or ""), str(form.get("password") or "")
    target = safe_next(str(form.get("next") or ""))
    user = None
    try:  # the API's own rules (limits, trimming), so both sign in the same people
        credentials = LoginRequest(username=username, password=password)
    except ValidationError:
        credentials = None
    if credentials is not None:
        try:
            user = await signin.authenticate(
                session=session,
                settings=settings,
                origin=origin_of(request),
                username=credentials.username,
                password=credentials.password,
            )
        except Throttled as exc:
            refused = anonymous_page(
                request,
                page,
                "login.html",
                {
                    "next": target,
                    "username": username[:320],
                    "errors": {"__all__": throttled_message(exc.retry_after)},
                },
                429,
            )
            refused.headers["Retry-After"] = str(exc.retry_after)
            return refused
    if user is None:
        return anonymous_page(
            request,
            page,
            "login.html",
            {
                "next": target,
                "username": username[:320],
                "errors": {"__all__": "Incorrect username or password."},
            },
            401,
        )
    response = redirect(request, target, f"Welcome, {user.full_name or user.username}.")
    token = await signin.sign_in(
        session=session, settings=settings, origin=origin_of(request), user=user
    )
    give_session(request, response, settings, token)
    return response


@router.get("/register")
async def register_page(request: Request, page: PageDep) -> Response:
    if page.user is not None:
        return redirect(request, "/dashboard")
    return anonymous_page(request, page, "register.html", {"values": {}, "errors": {}})


@router.post("/register", dependencies=[CsrfProtected])
async def register(
    request: Request, page: PageDep, session: SessionDep, settings: SettingsDep
) -> Response:
    form = await request.form()
    data = {
        name: str(form.get(name) or "") for name in ("username", "email", "password", "full_name")
    }
    data["full_name"] = data["full_name"] or None  # type: ignore[assignment]
    model, errors = validate(RegisterRequest, data)
    user = None
    if model is not None:
        user = await signin.register(session=session, settings=settings, values=model.model_dump())
        if isinstance(user, str):
            errors = {user: UNIQUE}
    if user is None or isinstance(user, str):
        shown = {k: v for k, v in data.items() if k != "password"}
        return anonymous_page(
            request, page, "register.html", {"values": shown, "errors": errors}, 422
        )
    response = redirect(request, "/dashboard", "Your account is ready. Welcome!")
    token = await signin.sign_in(
        session=session, settings=settings, origin=origin_of(request), user=user
    )
    give_session(request, response, settings, token)
    return response


@router.post("/logout", dependencies=[CsrfProtected])
async def logout(
    request: Request, identified: LoginDep, session: SessionDep, settings: SettingsDep
) -> Response:
    response = redirect(request, "/login", "You are signed out.", "info")
    login = identified.login
    if login is not None:
        await signin.sign_out(session=session, login=login)
        drop_session(response, settings)
    return response


@router.get("/dashboard")
async def dashboard(
    request: Request, page: PageDep, access: AccessDep, session: SessionDep
) -> Response:
    totals = await access.readable_counts(page.nav, session)
    cards = [
        {
            "res": res,
            "total": total,
            "can_create": res.create_schema is not None
            and access.scopes(res.policy_model, "create").any,
        }
        for res, total in zip(page.nav, totals, strict=True)
    ]
    return render(request, "dashboard.html", {"cards": cards, "count_cap": COUNT_CAP}, page=page)


ROLES = REGISTRY["roles"]


@router.post("/roles/{id}/permissions", dependencies=[CsrfProtected])
async def save_permission_matrix(
    request: Request,
    page: PageDep,
    record: Annotated[Any, AuthorizedRecord(ROLES, "update", unreadable=403)],
    access: AccessDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Save a role's permission matrix, every checked `model:action:scope` box at once:
    first a preview of who would gain and lose what (nothing written), whose form confirms."""
    form = await request.form()
    names = {v for v in form.getlist("grant") if isinstance(v, str)}
    role_url = f"/roles/{record.id}"
    added, condition = form.get("add_grant"), form.get("add_condition")
    if isinstance(added, str) and added and isinstance(condition, str) and condition:
        condition_id = int(condition) if condition.isdigit() and len(condition) < 10 else 0
        try:
            names.add(
                await conditioned_grant(
                    access=access,
                    session=session,
                    settings=settings,
                    grant=added,
                    condition_id=condition_id,
                )
            )
        except WriteError:
            return redirect(
                request, role_url, "Pick a permission and a condition of its model.", "error"
            )
    values, grants = await matrix_change(session, record, names)
    confirmed = form.get("confirm") is not None
    write = update_record if confirmed else try_update
    try:
        effect = await write(
            res=ROLES,
            access=access,
            session=session,
            settings=settings,
            record=record,
            values=values,
        )
    except WriteError:
        message = "You may grant only permissions you can read."
        return redirect(request, role_url, message, "error")
    if confirmed:
        return redirect(request, role_url, "Permissions saved.")
    # The permission added with a condition is made again with the confirmation (the
    # preview's rollback took it away, if it was new).
    adding = {"add_grant": added, "add_condition": condition} if added and condition else {}
    context = {"effect": effect, "grants": grants, "role_url": role_url, "adding": adding}
    return render(request, "roles/preview.html", context, page=page)


SESSIONS = REGISTRY["sessions"]


@router.post("/sessions/revoke-others", dependencies=[CsrfProtected])
async def revoke_other_sessions(
    request: Request,
    access: Annotated[Access, Authorize(SESSIONS, "delete")],
    session: SessionDep,
) -> Response:
    """Sign out other devices: every other session the user may end, and their tokens."""
    await accounts.revoke_other_sessions(access, session)
    return redirect(request, "/sessions", "Other devices are signed out.")


# The audit page's filter form, in its order.
AUDIT_FILTERS = (
    FormField("actor", "Actor", "text", False),
    FormField("event", "Event", "text", False),
    FormField("resource", "Resource", "text", False),
    FormField("record_id", "Record id", "number", False),
    FormField("since", "Since", "datetime", False),
    FormField("until", "Until", "datetime", False),
)


@router.get("/audit")
async def audit_log(
    request: Request,
    page: PageDep,
    access: AccessDep,
    session: SessionDep,
) -> Response:
    """The audit log, filtered and newest first, for holders of audit:read:all (403 else)."""
    check_reader(access)  # before the question is read: a 403, not a 422, for a stranger
    filters = {name: value for name, value in request.query_params.items() if name != "cursor"}
    try:
        query = AuditQuery.from_form(dict(request.query_params), page.zone)
    except RequestValidationError as exc:  # said at the form's fields, as every form does
        context = {"filters": filters, "errors": query_errors(exc, AUDIT_FILTERS)}
        return render(request, "audit.html", context, 422, page=page)
    found = await entries_page(access, session, query.where, query.limit, query.cursor)
    older = urlencode(filters | {"cursor": found["next_cursor"] or ""})
    context = {
        "entries": found["items"],
        "record_names": found["titles"],
        "next_cursor": found["next_cursor"],
        "filters": filters,
        "older": older,
        "errors": {},
    }
    return render(request, "audit.html", context, page=page)


@router.get("/explain")
async def explain_page(
    page: PageDep,
    access: AccessDep,
    session: SessionDep,
    request: Request,
    resource: Literal[tuple(REGISTRY)],  # type: ignore[valid-type]
    action: Literal["read", "update", "delete"],
    record_id: Annotated[int, Query(ge=1, le=INT_MAX)],
    user_id: Annotated[int | None, Query(ge=1, le=INT_MAX)] = None,
) -> Response:
    """Why the caller (or another user) may or may not act on a record, as a page."""
    res = REGISTRY[resource]
    found = await explain(access, session, res, action, record_id, user_id)
    context = {"explanation": found, "res": res, "record_url": f"/{res.path}/{record_id}"}
    return render(request, "explain.html", context, page=page)


def matrix(record: Any) -> dict[str, Any]:
    """Return the rows and columns of a role's permission matrix."""
    held = {str(p) for p in record.permissions}
    columns = [f"{a}:{s}" for a in ACTIONS for s in SCOPES]
    rows = [
        {"model": m, "cells": [(f"{m}:{c}", f"{m}:{c}" in held) for c in columns]}
        for m in PERMISSION_MODELS
    ]
    granted = sum(held for row in rows for _, held in row["cells"])
    conditioned = sorted(
        str(p) for p in record.permissions if p.condition_id is not None
    )  # beside the grid: each kept while its box stays checked
    cells = [f"{m}:{c}" for m in PERMISSION_MODELS for c in columns]
    return {
        "columns": columns,
        "rows": rows,
        "granted": granted,
        "conditioned": conditioned,
        "cells": cells,
    }


def linked(res: Any, record: Any, field: str) -> list[tuple[str, str]]:
    """Return (path, name) for each record an `<x>_ids` field names, e.g. a task's tags."""
    attribute, _ = res.crud.relations[field]
    target = REGISTRY[res.references[field]]
    rows = getattr(record, attribute)
    return [(f"/{target.path}/{row.id}", target.title_of(row)) for row in rows]


templates.env.globals.update(permission_matrix=matrix, linked=linked, audit_filters=AUDIT_FILTERS)
for resource in RESOURCES:
    router.include_router(PathGuard(f"/{resource.path}", build_pages(resource)))


def install(app: FastAPI) -> None:
    """Serve the HTML interface's pages (its error pages: `app/main.py`)."""
    app.include_router(router)
