"""JSON routes for sessions: list, read, revoke one, and revoke all others."""

from typing import Annotated

from fastapi import Response, status

from app.api.access import Authorize
from app.api.deps import SessionDep
from app.api.statuses import answers
from app.api.v1.resource_router import build_router
from app.resources import REGISTRY
from app.services import accounts
from app.services.access import Access

res = REGISTRY["sessions"]
router = build_router(res)


@router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=answers(401, 403),
)
async def revoke_other_sessions(
    access: Annotated[Access, Authorize(res, "delete")],
    session: SessionDep,
) -> Response:
    """Sign out other devices: revoke every session the caller may delete, except the one
    making this call, and every bearer token issued to the caller so far."""
    await accounts.revoke_other_sessions(access, session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
