"""The benchmark's baselines (benchmark mode only, never part of the app).

`uvicorn scripts.bench_floor:app` serves, on the app's own engine and models:
- `GET /bare`: a JSON answer with no database work, the framework's floor;
- `GET /tasks/{id}`: the same ORM read of a task (with its tags) and the same response
  model as the app's `GET /api/v1/tasks/{id}`, with no session, no policy and no checks;
- `GET /floor/tasks/{id}`: the stack's own floor: a bare Starlette route (no FastAPI
  dependencies, no validation) on a small pool of psycopg connections, reading the same
  task and its tag ids in one prepared statement, answered with `json`;
- `GET /stack/tasks/{id}`: the least the app's own stack does for that read: a FastAPI
  route, its session from a `yield` dependency of function scope (as `get_db` gives it,
  in autocommit), the row read as the app reads it (`app/crud/prepared.py`) and answered
  through the read schema; no caller, no policy, no middleware.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.core.config import get_settings
from app.core.database import create_app_engine
from app.crud.prepared import Prepared
from app.db import create_sessionmaker
from app.resources import REGISTRY

TASKS = REGISTRY["tasks"]
engine = create_app_engine(get_settings())
sessions = create_sessionmaker(engine)
app = FastAPI()


@app.get("/bare")
async def bare() -> dict[str, bool]:
    return {"ok": True}


TASK = (
    "SELECT t.id, t.project_id, t.title, t.description, t.status, t.priority, t.assignee_id,"
    " t.due_at, t.estimate_hours, t.completed_at, t.owner_user_id, t.owner_group_id,"
    " t.created_at, t.updated_at,"
    " ARRAY(SELECT tag_id FROM task_tags WHERE task_id = t.id ORDER BY tag_id) AS tag_ids"
    " FROM tasks t WHERE t.id = %s"
)
POOL_SIZE = 4


class Pool:
    """A few open connections, each lent to one request at a time."""

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn, self.size = dsn, size
        self.idle: asyncio.Queue[psycopg.AsyncConnection[Any]] | None = None

    async def connection(self) -> psycopg.AsyncConnection[Any]:
        if self.idle is None:
            self.idle = asyncio.Queue()
            for _ in range(self.size):
                opened = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
                self.idle.put_nowait(opened)
        return await self.idle.get()

    def give_back(self, connection: psycopg.AsyncConnection[Any]) -> None:
        assert self.idle is not None
        self.idle.put_nowait(connection)


plain = make_url(get_settings().sync_database_url).set(drivername="postgresql")
pool = Pool(plain.render_as_string(hide_password=False), POOL_SIZE)


def as_json(value: Any) -> str:
    """A time in ISO 8601 (as the app writes it); a decimal as its text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


async def floor_task(request: Request) -> Response:
    connection = await pool.connection()
    try:
        cursor = await connection.execute(TASK, (request.path_params["id"],), prepare=True)
        found = await cursor.fetchone()
        names = [column.name for column in cursor.description or ()]
    finally:
        pool.give_back(connection)
    if found is None:
        return Response(status_code=404)
    body = json.dumps(dict(zip(names, found, strict=True)), default=as_json)
    return Response(body, media_type="application/json")


app.mount("/floor", Starlette(routes=[Route("/tasks/{id:int}", floor_task)]))


@app.get("/tasks/{id}")
async def read_task(id: int) -> Any:
    async with sessions() as session:
        record = await TASKS.crud.get(session=session, id=id)
        if record is None:
            raise HTTPException(404)
        return TASKS.read_schema.model_validate(record)


reading = async_sessionmaker(
    engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
)
TASK_ROW = Prepared(TASKS.crud.row_by_id)


async def reading_session() -> AsyncIterator[AsyncSession]:
    async with reading() as session:
        yield session


@app.get("/stack/tasks/{id}", response_model=TASKS.read_schema)
async def stack_task(
    id: int, session: Annotated[AsyncSession, Depends(reading_session, scope="function")]
) -> Any:
    row = await TASK_ROW.first(await session.connection(), {"id": id})
    if row is None:
        raise HTTPException(404)
    return TASKS.crud.row_type._make(row)  # type: ignore[attr-defined]
