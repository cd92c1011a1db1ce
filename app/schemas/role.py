"""Role schemas: permissions go in as ids and come out as strings."""

from pydantic import Field, field_validator

from app.schemas.common import Id, OwnerFields, ReadSchema, Text, partial


class RoleCreate(OwnerFields):
    name: Text(50, min_length=1)
    description: Text(2000) | None = None
    permission_ids: list[Id] = Field(default_factory=list, max_length=1000)


RoleUpdate = partial(RoleCreate, "RoleUpdate")


class RoleRead(ReadSchema):
    name: str
    description: str | None
    permissions: list[str]
    permission_ids: list[int]

    @field_validator("permissions", mode="before")
    @classmethod
    def _as_strings(cls, items: object) -> object:
        if isinstance(items, list):
            return [str(item) for item in items]
        return items
