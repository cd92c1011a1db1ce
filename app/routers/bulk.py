"""Bulk delete from a list page: the rows ticked, confirmed, then deleted
(`app/services/bulk.py`); what was refused is said."""

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.access import Authorize
from app.api.deps import CsrfProtected, SessionDep
from app.core.numbers import whole_number
from app.resources import Resource
from app.routers.context import PageDep
from app.routers.templating import redirect, render
from app.services import bulk
from app.services.access import Access

MOST = 200  # rows one bulk delete takes: a list page's largest


def chosen_ids(form: Any) -> list[int]:
    """The ticked rows' ids, each a positive id (anything else is ignored), at most MOST."""
    ids = {whole_number(raw) for raw in form.getlist("ids")}
    return sorted(found for found in ids if found is not None)[:MOST]


def build_bulk_routes(res: Resource) -> APIRouter:
    router = APIRouter()  # included in the resource's pages, under its path

    @router.post("/bulk-delete", dependencies=[CsrfProtected], name=f"html_bulk_{res.path}")
    async def bulk_delete(
        request: Request,
        page: PageDep,
        access: Annotated[Access, Authorize(res, "delete")],
        session: SessionDep,
    ) -> Response:
        form = await request.form()
        ids = chosen_ids(form)
        back = f"/{res.path}"
        if not ids:
            return redirect(
                request, back, f"Tick the {res.label.lower()} to delete first.", "error"
            )
        if form.get("confirm") is None:
            chosen, refused = await bulk.deletable(res, access, session, ids)
            context = {"res": res, "chosen": chosen, "refused": refused}
            return render(request, "generic/confirm_bulk_delete.html", context, page=page)
        deleted, refused = await bulk.delete_many(res, access, session, ids)
        noun = res.singular.lower() if len(deleted) == 1 else res.label.lower()
        said = f"Deleted {len(deleted)} {noun}" + (f": {', '.join(deleted)}." if deleted else ".")
        if refused:
            said += f" {refused} could not be deleted (not allowed, or gone)."
        return redirect(request, back, said, "error" if refused else "success")

    return router
