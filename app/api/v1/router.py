"""The `/api/v1` router: authentication, then every registered resource, in registry order.

A resource's routes come from its endpoint module `app/api/v1/endpoints/<path>.py` (a thin
module that may add routes to the generic set); without one, the generic set is built here.
"""

import importlib
import importlib.util

from fastapi import APIRouter

from app.api.v1.endpoints import audit, auth
from app.api.v1.resource_router import build_router
from app.core.routing import JSONRoute, PathGuard
from app.resources import RESOURCES, Resource


def resource_router(res: Resource) -> APIRouter:
    """Return the router of the resource's endpoint module, or the generic one."""
    name = f"{__package__}.endpoints.{res.path}"
    if importlib.util.find_spec(name) is None:
        return build_router(res)
    return importlib.import_module(name).router


ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    audit.router,
    *(resource_router(res) for res in RESOURCES),
)
PREFIX = "/api/v1"

api_router = APIRouter(route_class=JSONRoute)
api_router.include_router(PathGuard(f"{PREFIX}/auth", auth.router))
api_router.include_router(PathGuard(f"{PREFIX}/audit", audit.router))
for res, router in zip(RESOURCES, ROUTERS[2:], strict=True):
    api_router.include_router(PathGuard(f"{PREFIX}/{res.path}", router))
