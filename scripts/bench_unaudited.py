"""The app with its audit log switched off: the baseline of `bench_audit.py` (benchmark mode
only, never part of the app; the app itself has no switch to stop auditing).

`uvicorn scripts.bench_unaudited:app` serves the very app of `app.main`, with the audit
capture (the snapshots of a record before and after, and the entries) made no-ops.
"""

from typing import Any

from app.crud import audit


async def nothing(*_: Any, **__: Any) -> None:
    return None


def no_snapshot(*_: Any, **__: Any) -> dict[str, Any]:
    return {}


audit.snapshot = no_snapshot
audit.created = nothing
audit.updated = nothing
audit.deleted = nothing
audit.record = nothing

from app.main import app  # noqa: E402  (after the capture is switched off)

__all__ = ["app"]
