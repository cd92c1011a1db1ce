"""`GET /metrics`: the Prometheus metrics (`app/core/metrics.py`), for a bearer token whose
user holds `metrics:read:all` (401 without a valid token, cookies included; 403 without
the permission; neither answer says anything of the metrics). `METRICS_PORT` also serves
them without sign-in on `METRICS_HOST`, for a scraper on a private network."""

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.identity import authorization_bearer, origin_of
from app.api.transaction import get_db
from app.core import metrics
from app.core.config import Settings
from app.core.permissions import METRICS_READ
from app.core.routing import JSONRoute
from app.services.callers import identify, visitor_of

log = logging.getLogger(__name__)
router = APIRouter(tags=["Operations"], route_class=JSONRoute)  # a 405 names GET
UNAUTHENTICATED = "Send a bearer token (POST /api/v1/auth/token) of a user holding " + METRICS_READ


async def refusal(request: Request, session: AsyncSession) -> Response | None:
    """None for a bearer token holding `metrics:read:all`; else the 401 or 403 to send
    (JSON whatever the client accepts: a scraper is not a browser, sent to sign in)."""
    token = authorization_bearer(request)
    unauthenticated = JSONResponse(
        {"detail": UNAUTHENTICATED},
        status.HTTP_401_UNAUTHORIZED,
        headers={"WWW-Authenticate": "Bearer"},
    )
    if not token:
        return unauthenticated
    settings: Settings = request.app.state.settings
    identified = await identify(
        session,
        settings=settings,
        bearer=token,
        cookie=None,
        origin=origin_of(request),
        writing=False,
    )
    visitor, _ = await visitor_of(identified, session, policies=request.app.state.policy)
    if visitor.access is None:
        return unauthenticated
    model, action, _ = METRICS_READ.split(":")
    allowed = visitor.access.scopes(model, action).all
    metrics.decided(model, action, allowed)
    if not allowed:
        detail = f"Reading the metrics needs {METRICS_READ}"
        return JSONResponse({"detail": detail}, status.HTTP_403_FORBIDDEN)
    return None


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {metrics.CONTENT_TYPE: {}}, "description": "Prometheus text format."},
        401: {"description": "No valid bearer token."},
        403: {"description": f"The token's user does not hold {METRICS_READ}."},
    },
)
async def read_metrics(
    request: Request, session: Annotated[AsyncSession, Depends(get_db, scope="function")]
) -> Response:
    """Every metric, in Prometheus's text format (every worker's, in multiprocess mode)."""
    refused = await refusal(request, session)
    if refused is not None:
        return refused
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)


def serve_metrics(settings: Settings) -> Any:
    """With `METRICS_PORT`, serve the metrics without sign-in on `METRICS_HOST` from a thread;
    return its server (None without a port, or when another worker of this machine serves
    it already: in multiprocess mode any one of them answers for all)."""
    if settings.metrics_port is None or not settings.metrics_enabled:
        return None
    from prometheus_client import start_http_server

    registry = metrics.scrape_registry()
    try:
        server, _ = start_http_server(
            settings.metrics_port, addr=settings.metrics_host, registry=registry
        )
    except OSError as exc:  # taken: another worker serves it
        log.info("metrics port %s not bound here: %s", settings.metrics_port, exc.strerror)
        return None
    return server
