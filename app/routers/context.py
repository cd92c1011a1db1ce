"""What every HTML page shows besides its content: the visitor, their navigation, CSRF token.

Built by the `get_page` dependency and passed explicitly to `render`; error pages build
their own (`page_for_error`), since they render outside the route that failed.
"""

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.exc import SQLAlchemyError

from app.api.csrf import get_csrf_token
from app.api.identity import SESSION_COOKIE, get_visitor, get_zone, resolve_visitor
from app.core.callers import Caller
from app.core.zones import DEFAULT_ZONE, ZONE_COOKIE, viewer_zone
from app.resources import RESOURCES, Resource
from app.services.access import Visitor
from app.services.audit_log import can_read_log


@dataclass(frozen=True)
class PageContext:
    user: Caller | None = None  # a plain copy: pages may render after the transaction
    csrf_token: str | None = None
    nav: list[Resource] = field(default_factory=list)
    can_audit: bool = False  # holds audit:read:all: the audit log and records' history
    zone: str = DEFAULT_ZONE  # the zone times show in (`app/core/zones.py`)
    can_set_zone: bool = False  # may edit their own account, where the zone is set

    def as_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "csrf_token": self.csrf_token,
            "nav": self.nav,
            "can_audit": self.can_audit,
            "zone": self.zone,
            "can_set_zone": self.can_set_zone,
        }


def page_context(visitor: Visitor, csrf_token: str | None, zone: str = DEFAULT_ZONE) -> PageContext:
    """Return the page context of `visitor` (without access: an anonymous visitor)."""
    access = visitor.access
    if access is None:
        return PageContext(csrf_token=csrf_token, zone=zone)
    own_account = access.scopes("user", "update")  # a user row is owned by itself
    return PageContext(
        user=access.user,
        csrf_token=csrf_token,
        nav=[res for res in RESOURCES if access.scopes(res.policy_model, "read").any],
        can_audit=can_read_log(access),
        zone=zone,
        can_set_zone=own_account.all or own_account.own,
    )


async def get_page(
    visitor: Annotated[Visitor, Depends(get_visitor)],
    csrf_token: Annotated[str | None, Depends(get_csrf_token)],
    zone: Annotated[str, Depends(get_zone)],
) -> PageContext:
    """Gather what every HTML page shows: the user, their navigation, CSRF token, zone."""
    return page_context(visitor, csrf_token, zone)


PageDep = Annotated[PageContext, Depends(get_page)]


async def page_for_error(request: Request) -> PageContext:
    """Build the page context of an error page, in a transaction of its own.

    The same steps as `get_page`, called directly: the error page renders outside the
    route that failed. When the database is what failed, the visitor is shown as anonymous.
    """
    settings = request.app.state.settings
    try:
        async with request.app.state.sessionmaker() as session:
            cookie = request.cookies.get(SESSION_COOKIE)
            visitor, _ = await resolve_visitor(request, session, cookie)
            csrf_token = await get_csrf_token(request, visitor, settings)
            user = visitor.user
            zone = viewer_zone(user and user.time_zone, request.cookies.get(ZONE_COOKIE))
            return page_context(visitor, csrf_token, zone)
    except SQLAlchemyError:
        return PageContext(zone=viewer_zone(None, request.cookies.get(ZONE_COOKIE)))
