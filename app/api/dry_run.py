"""`?dry_run=1`: where an update can be tried first (`app/services/what_if.py`)."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError

from app.resources import Resource

DRY_RUN = (
    "Check the update as if made (the same refusals) but write nothing: answer which users "
    "would gain and lose which permissions instead of the record."
)


def dry_run_param(res: Resource) -> Callable[..., Awaitable[bool]]:
    """Build the dependency that reads `?dry_run=` where updates of `res` can be tried
    first; elsewhere the parameter is undocumented and refused (422)."""
    if res.holders is None:

        async def never(request: Request) -> bool:
            # Refused rather than ignored: a client asking to write nothing must not write.
            if "dry_run" in request.query_params:
                message = f"{res.label} cannot be tried first: leave dry_run out"
                error = {"loc": ("query", "dry_run"), "msg": message, "type": "value_error"}
                raise RequestValidationError([error])
            return False

        return never

    async def asked(dry_run: Annotated[bool, Query(description=DRY_RUN)] = False) -> bool:
        return dry_run

    return asked
