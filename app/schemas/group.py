"""Group schemas: members go in and come out as user ids."""

from pydantic import Field

from app.schemas.common import Id, OwnerFields, ReadSchema, Text, partial


class GroupCreate(OwnerFields):
    name: Text(100, min_length=1)
    description: Text(2000) | None = None
    member_ids: list[Id] = Field(default_factory=list, max_length=1000)


GroupUpdate = partial(GroupCreate, "GroupUpdate")


class GroupRead(ReadSchema):
    name: str
    description: str | None
    member_ids: list[int]
