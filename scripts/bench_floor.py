"""The benchmark's baselines (benchmark mode only, never part of the app).

`uvicorn scripts.bench_floor:app` serves, on the app's own engine and models:
- `GET /bare`: a JSON answer with no database work, the framework's floor;
- `GET /tasks/{id}`: the same ORM read of a task (with its tags) and the same response
  model as the app's `GET /api/v1/tasks/{id}`, with no session, no policy and no checks.
"""

from typing import Any

from fastapi import FastAPI, HTTPException

from app.core.config import get_settings
from app.core.database import create_app_engine
from app.db import create_sessionmaker
from app.resources import REGISTRY

TASKS = REGISTRY["tasks"]
engine = create_app_engine(get_settings())
sessions = create_sessionmaker(engine)
app = FastAPI()


@app.get("/bare")
async def bare() -> dict[str, bool]:
    return {"ok": True}


@app.get("/tasks/{id}")
async def read_task(id: int) -> Any:
    async with sessions() as session:
        record = await TASKS.crud.get(session=session, id=id)
        if record is None:
            raise HTTPException(404)
        return TASKS.read_schema.model_validate(record)
