"""Application factory: `uvicorn app.main:app --no-proxy-headers` serves the default settings
(the app believes forwarded headers from `TRUSTED_PROXIES` alone; uvicorn's own handling
would believe any local process)."""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.api.errors import JSON_HANDLERS, Handler
from app.api.metrics import router as metrics_router
from app.api.metrics import serve_metrics
from app.api.v1.router import PREFIX, api_router
from app.core import logs, metrics
from app.core.config import Settings, get_settings
from app.core.database import create_app_engine, create_sync_engine
from app.core.headers import SecurityHeaders
from app.core.limits import BodySizeLimit
from app.core.observe import Observed
from app.core.policy_store import PolicyStore
from app.core.prefix import UrlPrefix
from app.core.request_ids import RequestIds
from app.core.routing import PathGuard
from app.db import create_sessionmaker
from app.routers import html
from app.routers.errors import HTML_HANDLERS, oversized, wants_html
from app.routers.templating import templates

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the enforcer at startup when the database answers; dispose engines at exit."""
    try:
        async with app.state.sessionmaker() as session:
            await app.state.policy.get(session)
    except SQLAlchemyError as exc:  # served anyway: /readyz reports it, requests retry
        log.warning("policy not loaded at startup: %s", exc.__class__.__name__)
    watch = asyncio.create_task(
        app.state.policy.watch(app.state.settings, app.state.read_sessionmaker)
    )
    exposer = serve_metrics(app.state.settings)
    # In production, what startup built (the modules, the routes, the policy) lives as long
    # as the process: kept out of the collector's full passes, which then walk only what
    # requests make. Without it, reads with metrics and JSON logs on (a few objects more per
    # request, so more passes) ran at 0.92x of both off; with it, 0.97x
    # (`scripts/bench_observability.py`). Garbage is collected first, so only what lives
    # is frozen; unfrozen at shutdown. (The tests start hundreds of apps in one process: a
    # full collection each would cost them more than it saves.)
    frozen = app.state.settings.environment == "production"
    if frozen:
        gc.collect()
        gc.freeze()
    yield
    if frozen:
        gc.unfreeze()
    if exposer is not None:
        exposer.shutdown()
    watch.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watch
    await app.state.engine.dispose()
    app.state.sync_engine.dispose()
    metrics.process_ended()


def answer_by_interface(json: Handler, page: Handler | None) -> Handler:
    """Return the handler of one error type: its page for a request of the HTML interface
    (where it has one), its JSON answer otherwise."""
    if page is None:
        return json

    async def answer(request: Request, exc: Exception) -> Response:
        return await (page if wants_html(request) else json)(request, exc)

    return answer


def install_error_handlers(app: FastAPI) -> None:
    """Install one handler per error type, each chosen once (`answer_by_interface`)."""
    for kind, json in JSON_HANDLERS.items():
        app.add_exception_handler(kind, answer_by_interface(json, HTML_HANDLERS.get(kind)))


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for `settings` (the environment's by default)."""
    settings = settings or get_settings()
    settings.require_secret()
    metrics.ENABLED = settings.metrics_enabled
    logs.configure(settings.logs)
    app = FastAPI(
        title="CRUD service",
        summary="Permission-checked CRUD over the business database, decided by Casbin.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = create_app_engine(settings)
    app.state.sessionmaker = create_sessionmaker(app.state.engine)
    app.state.read_sessionmaker = create_sessionmaker(
        app.state.engine.execution_options(isolation_level="AUTOCOMMIT")
    )
    app.state.sync_engine = create_sync_engine(settings)
    app.state.policy = PolicyStore(app.state.sync_engine)
    metrics.watch_pool(app.state.engine.sync_engine.pool)
    metrics.build_info(app.version)

    # The probes first: nginx and orchestrators ask them often, and routes match in order.
    @app.get("/healthz", tags=["Operations"])
    async def healthz() -> dict[str, str]:
        """Answer 200 while the process is up."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["Operations"],
        responses={503: {"description": "The database does not answer."}},
    )
    async def readyz(request: Request) -> JSONResponse:
        """Answer 200 only when the database answers, with the policy revision this worker
        enforces (null before its first load): after a change, every worker's moves on."""
        try:
            async with request.app.state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError):
            return JSONResponse({"status": "unavailable"}, status_code=503)
        current = request.app.state.policy.current
        revision = None if current is None else current.revision
        return JSONResponse({"status": "ready", "policy_revision": revision})

    # Templates are compiled once; only in development does a render check their files
    # for changes (a stat per template per page otherwise).
    templates.env.auto_reload = settings.environment == "development"
    install_error_handlers(app)
    # Innermost: the route has matched (its template is the label) and every error handler
    # has answered by the time a request is counted and logged.
    if settings.metrics_enabled or settings.logs == "json":
        app.add_middleware(Observed, log_requests=settings.logs == "json", prefixes=(PREFIX,))
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, refusal=oversized)
    app.add_middleware(SecurityHeaders, prefix=settings.url_prefix)
    app.add_middleware(RequestIds)
    app.add_middleware(UrlPrefix, prefix=settings.url_prefix)
    if settings.trusted_proxies:  # outermost: every layer sees the client the proxy names
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    app.include_router(metrics_router)
    app.include_router(PathGuard(PREFIX, api_router), prefix=PREFIX)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    html.install(app)

    return app


app = create_app()
