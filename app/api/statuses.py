"""The statuses each API operation answers besides success, as the OpenAPI document lists
them: a schema-driven client (or fuzzer) can tell a right answer from a wrong one."""

from typing import Any

from pydantic import BaseModel, Field


class Problem(BaseModel):
    """An error: a sentence, or (422) the fields at fault."""

    detail: str | list[dict[str, Any]] = Field(
        description="What went wrong: a sentence, or a list of `{loc, msg, type}` per field."
    )


DESCRIPTIONS = {
    401: "Not signed in: no valid session cookie or bearer token.",
    403: "Signed in, but the policy does not allow this.",
    404: "No such record, or none the caller may read.",
    409: "A value another record already holds under a unique key, or a change that would "
    "leave no active user able to manage users and roles.",
    413: "The request body is larger than `MAX_BODY_BYTES`.",
    415: "The request body is not JSON (`Content-Type: application/json`).",
    429: "Too many failed sign-ins: wait the `Retry-After` seconds.",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}


def answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route answering these error statuses."""
    found: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        found[code] = {"model": Problem, "description": DESCRIPTIONS[code]}
        if code == 429:
            found[code]["headers"] = RETRY_AFTER
    return found


# What every route with a JSON body may also answer.
BODY = (413, 415)
