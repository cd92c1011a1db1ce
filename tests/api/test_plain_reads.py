"""Reads served as plain rows (`Resource.plain_reads`) answer exactly what the ORM object does.

A list and a read by id come from `app/crud/rows.py`; a write answers from the ORM object it
changed. An update that changes nothing must therefore answer the same record, field for
field, as the read and the list, on both backends.
"""

import httpx
import pytest
from sqlalchemy.engine import Row

from app.crud.rows import read_beside
from app.resources import REGISTRY, RESOURCES
from tests.support.records import Records

PLAIN = [res.path for res in RESOURCES if res.plain_reads and res.update_schema is not None]


def test_which_resources_read_plain_rows() -> None:
    """Derived from the read schemas: related records shown only by id allow plain rows."""
    assert [res.path for res in RESOURCES if not res.plain_reads] == ["users", "roles"]
    assert {"tasks", "groups", "sessions"} <= {res.path for res in RESOURCES if res.plain_reads}


@pytest.mark.parametrize("path", [res.path for res in RESOURCES if res.plain_reads])
def test_no_column_hides_behind_a_row_attribute(path: str) -> None:
    """A row's own attributes (`count`, `index`, ...) would shadow a column of that name."""
    crud = REGISTRY[path].crud
    beside = read_beside(REGISTRY[path].model)  # a permission's condition's name
    columns = {*REGISTRY[path].model.__table__.columns.keys(), *beside}
    assert not columns & {name for name in dir(Row) if not name.startswith("__")}
    assert crud.row_type._fields == (*columns_in_order(path), *beside, *crud.relations)


def columns_in_order(path: str) -> list[str]:
    return [column.key for column in REGISTRY[path].model.__table__.columns]


@pytest.mark.parametrize("path", PLAIN)
def test_a_plain_read_equals_the_orm_record(
    admin: httpx.Client, records: Records, path: str
) -> None:
    record = records.create(path)
    unchanged = admin.put(f"/{path}/{record['id']}", json={})
    assert unchanged.status_code == 200, unchanged.text
    read = admin.get(f"/{path}/{record['id']}")
    assert read.status_code == 200
    assert read.json() == unchanged.json() == record
    listed = admin.get(f"/{path}", params={"limit": 200, "sort": "-id"}).json()["items"]
    assert [item for item in listed if item["id"] == record["id"]] == [record]


def test_related_ids_come_in_id_order_and_empty_as_a_list(
    admin: httpx.Client, records: Records
) -> None:
    tags = sorted(records.create("tags")["id"] for _ in range(3))
    tagged = records.create("tasks", tag_ids=[tags[2], tags[0], tags[1]])
    bare = records.create("tasks", tag_ids=[])
    assert admin.get(f"/tasks/{tagged['id']}").json()["tag_ids"] == tags
    assert admin.get(f"/tasks/{bare['id']}").json()["tag_ids"] == []
    listed = {
        item["id"]: item["tag_ids"]
        for item in admin.get("/tasks", params={"limit": 200, "sort": "-id"}).json()["items"]
    }
    assert listed[tagged["id"]] == tags and listed[bare["id"]] == []
    members = admin.get("/groups", params={"limit": 200}).json()["items"]
    assert all(item["member_ids"] == sorted(item["member_ids"]) for item in members)
