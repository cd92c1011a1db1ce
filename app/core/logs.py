"""Logs: `LOG_FORMAT=json` (production's default) writes one JSON object per line to
standard error, `text` (development's and the tests' default) leaves uvicorn's plain lines.

Every line written while a request is answered carries its request id (the one the audit
log records and the `X-Request-ID` header echoes) and the caller's user id, from context
variables the request path sets (`RequestIds`, `identify_request`). The access line of each
request is `app.access`'s (`app/core/observe.py`); notable events are `event(...)` lines.
Nothing here ever receives a password, a token or a cookie: callers pass ids and names.
"""

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
USER_ID: ContextVar[int | None] = ContextVar("user_id", default=None)

events = logging.getLogger("app.events")
UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access")


class JsonLines(logging.Formatter):
    """One JSON object per record: `time`, `level`, `logger`, `message`, the request's id
    and user, then the record's `fields` (structured values given with `extra=`)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": REQUEST_ID.get(),
            "user_id": USER_ID.get(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(log_format: str) -> None:
    """Send every log line to standard error as JSON lines (`json`), uvicorn's included,
    its access line replaced by the app's own; leave logging as it is for `text`."""
    if log_format != "json":
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    handler.set_name("app-json")
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != "app-json"] + [handler]
    root.setLevel(logging.INFO)
    for name in UVICORN:
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # `app.access` says more
    logging.captureWarnings(True)  # Python's warnings as JSON lines too, not bare text
    logging.getLogger("casbin").setLevel(logging.WARNING)  # it prints its model at info
    # What a record would gather that no JSON line shows, as the logging HOWTO's
    # "Optimization" lists it: the calling frame (a stack walk per line), the thread, the
    # process. An access line per request then costs a few microseconds less.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def event(name: str, message: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log a notable event (`sign_in_failed`, `policy_reloaded`, ...) with its values."""
    events.log(level, message, extra={"fields": {"event": name, **fields}})
