"""The `/api/v1` router: authentication plus one router per resource."""

from fastapi import APIRouter

from app.api.v1.endpoints import (
    auth,
    comments,
    customers,
    groups,
    permissions,
    projects,
    roles,
    sessions,
    tags,
    tasks,
    time_entries,
    users,
)

ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router
    for module in (
        auth,
        users,
        roles,
        permissions,
        sessions,
        groups,
        customers,
        projects,
        tasks,
        tags,
        comments,
        time_entries,
    )
)

api_router = APIRouter()
for router in ROUTERS:
    api_router.include_router(router)
