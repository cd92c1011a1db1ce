"""The real app in-process over ASGI, with SQLAlchemy's events counting what it sends to
the database (statements, and BEGIN/COMMIT outside autocommit)."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import event

from app.core.config import Settings
from app.main import create_app


class Wire:
    """What the app's engine sends: statements, and BEGIN/COMMIT outside autocommit."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.sql: list[str] = []

    def statement(self, _conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        self.sent.append(sql.split(None, 1)[0].upper())
        self.sql.append(sql)

    def transaction(self, name: str) -> Callable[..., None]:
        def seen(connection: Any, *_: Any) -> None:
            if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                self.sent.append(name)

        return seen


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Wire, Any]]:
    app = create_app(settings)
    wire = Wire()
    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", wire.statement)
    for name in ("begin", "commit", "rollback"):
        event.listen(engine, name, wire.transaction(name.upper()))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, wire, app
