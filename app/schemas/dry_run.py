"""What a dry run of an update answers: who would gain and lose which permissions."""

from typing import Literal

from pydantic import BaseModel, Field, create_model


class PermissionChange(BaseModel):
    """One user whose permissions the change would alter, named `model:action:scope`."""

    user: str = Field(description="The user's username.")
    user_id: int
    gained: list[str] = Field(description="Permissions the user would hold and holds not now.")
    lost: list[str] = Field(description="Permissions the user holds now and would hold no more.")


def dry_run_schema(name: str, record: str) -> type[BaseModel]:
    """Return the schema of a dry run's answer: the record's name under `record` ("role"),
    and each user whose permissions would change (a permission still given by another of
    the user's roles is neither gained nor lost)."""
    fields = {
        "dry_run": (Literal[True], Field(description="Always true: nothing was written.")),
        record: (str, Field(description=f"The {record} the update would change.")),
        "changes": (
            list[PermissionChange],
            Field(
                description="The users whose permissions would change, by username: those "
                "the caller may read."
            ),
        ),
        "hidden": (
            int,
            Field(
                description="How many other users' permissions would change: users the "
                "caller may not read, counted, never named."
            ),
        ),
    }
    return create_model(name, **fields)  # type: ignore[call-overload]
