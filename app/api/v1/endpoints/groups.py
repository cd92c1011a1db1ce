"""JSON routes for groups: the generic set from the registry."""

from app.api.v1.resource_router import build_router
from app.resources import REGISTRY

router = build_router(REGISTRY["groups"])
