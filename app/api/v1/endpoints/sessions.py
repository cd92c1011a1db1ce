"""JSON routes for sessions: list, read, revoke one, and revoke all others."""

from typing import Annotated

from fastapi import Response, status

from app import crud
from app.api.access import Access, Authorize
from app.api.deps import CurrentSession, SessionDep
from app.api.v1.resource_router import build_router
from app.resources import REGISTRY

res = REGISTRY["sessions"]
router = build_router(res)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def revoke_other_sessions(
    access: Annotated[Access, Authorize(res, "delete")],
    current: CurrentSession,
    session: SessionDep,
) -> Response:
    """Revoke every session the caller may delete, except the one making this call."""
    await crud.login_session.revoke(
        session=session,
        where=access.where(res.model, res.policy_model, "delete"),
        keep_id=current.id if current else None,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
