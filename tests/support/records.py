"""Minimal valid bodies for every resource, and records made through the API as admin.

The one place per-resource test data lives. Bodies, parents and changes are derived from
the registry and the schemas (`app/schemas/examples.py`); the tables below only choose
values where a derived one would do but a particular one reads better. Every key must be a
registered resource (`tests/test_architecture.py` checks it).
"""

import typing
from typing import Any

import httpx

from app.resources import REGISTRY, RESOURCES, Resource
from app.schemas.examples import NoExample, example_body, example_value, unwrap
from tests.support.factories import unique

ALL = [res.path for res in RESOURCES]
# Every resource but sessions, which come from logins and are never created or edited.
CREATABLE = [res.path for res in RESOURCES if res.create_schema is not None]
OWNER_FIELDS = ("owner_user_id", "owner_group_id")


def required_parents(res: Resource) -> dict[str, str]:
    """Return each required field naming another record, and that record's resource path."""
    if res.create_schema is None:
        return {}
    fields = res.create_schema.model_fields
    return {
        name: target
        for name, target in res.references.items()
        if fields[name].is_required() and not name.endswith("_ids")
    }


# resource path -> (field naming its required parent, the parent's resource path)
PARENTS: dict[str, tuple[str, str]] = {
    res.path: next(iter(required_parents(res).items()))
    for res in RESOURCES
    if required_parents(res)
}

# resource path -> a partial update changing one field (the others must stay)
CHANGES: dict[str, dict[str, Any]] = {
    "users": {"full_name": "Changed Name"},
    "roles": {"description": "changed"},
    "permissions": {"description": "changed"},
    "groups": {"description": "changed"},
    "customers": {"company": "Changed Ltd"},
    "projects": {"status": "active"},
    "tasks": {"priority": 5},
    "tags": {"color": "#123456"},
    "comments": {"body": "changed"},
    "time_entries": {"minutes": 45},
}


def derived_change(res: Resource) -> dict[str, Any]:
    """Return a partial update of `res` changing one plain optional field.

    A text field gets "changed"; an enumeration its first value other than the default.
    """
    assert res.create_schema is not None
    for name, info in res.create_schema.model_fields.items():
        if info.is_required() or name in res.references or name in OWNER_FIELDS:
            continue
        annotation, _, _ = unwrap(info.annotation)
        if typing.get_origin(annotation) is typing.Literal:
            others = [value for value in typing.get_args(annotation) if value != info.default]
            if others:
                return {name: others[0]}
            continue
        try:
            value = example_value(res.create_schema, name, "changed")
        except NoExample:  # a pattern only its default matches, say: try another field
            continue
        if isinstance(value, str) and value != info.default:
            return {name: value}
    raise LookupError(f"{res.path}: no field to change; add one to CHANGES in {__name__}")


for _res in RESOURCES:
    if _res.create_schema is not None and _res.path not in CHANGES:
        CHANGES[_res.path] = derived_change(_res)


def own_fields(path: str) -> dict[str, Any]:
    """Return the required fields of a `path` record, parents left out."""
    name = unique("rec")
    fields: dict[str, dict[str, Any]] = {
        "users": {"username": name, "email": f"{name}@example.com", "password": "tidal-parsnip-42"},
        "roles": {"name": name},
        "permissions": {"model": name, "action": "read", "scope": "own"},
        "conditions": {"name": name, "model": "task", "expression": 'record.status != "done"'},
        "groups": {"name": name},
        "customers": {"name": name},
        "projects": {"name": name},
        "tasks": {"title": name},
        "tags": {"name": name},
        "comments": {"body": name},
        "time_entries": {"spent_on": "2024-05-06", "minutes": 30},
    }
    if path in fields:
        return fields[path]
    res = REGISTRY[path]
    assert res.create_schema is not None, f"{path} records are not created through the API"
    parents = dict.fromkeys(required_parents(res), 1)
    body = example_body(res.create_schema, text=name, given=parents, stand_ins=frozenset(parents))
    return {key: value for key, value in body.items() if key not in parents}


def parent_reads(path: str, scope: str) -> tuple[str, ...]:
    """Return the permission a creator of `path` needs to name its parent, if it has one."""
    return (f"{REGISTRY[PARENTS[path][1]].policy_model}:read:{scope}",) if path in PARENTS else ()


class Records:
    """Build create bodies the way a client sends them, and make records as admin."""

    def __init__(self, admin: httpx.Client) -> None:
        self.admin = admin

    def body(self, path: str, **parent_owner: int | None) -> dict[str, Any]:
        """Return a minimal valid body for `path`; its parent is made with these owner fields."""
        body = own_fields(path)
        if path in PARENTS:
            field, parent = PARENTS[path]
            body[field] = self.create(parent, **parent_owner)["id"]
        return body

    def create(self, path: str, **fields: Any) -> dict[str, Any]:
        """Create a `path` record with `fields` over a valid body; return it.

        Owner fields among `fields` own its parents too; other fields are the record's alone.
        """
        owner = {key: value for key, value in fields.items() if key in OWNER_FIELDS}
        response = self.admin.post(f"/{path}", json=self.body(path, **owner) | fields)
        assert response.status_code == 201, response.text
        return response.json()

    def owned_by(self, path: str, user_id: int) -> dict[str, Any]:
        """Return a `path` record owned by the user: their own row, their login, or a new one."""
        if path == "users":
            response = self.admin.get(f"/users/{user_id}")
            assert response.status_code == 200, response.text
            return response.json()
        if path == "sessions":
            page = self.admin.get("/sessions", params={"user_id": user_id}).json()
            assert page["items"], f"user {user_id} has no session"
            return page["items"][0]
        return self.create(path, owner_user_id=user_id)

    def total(self, path: str) -> int:
        """Return how many `path` records exist, as admin counts them."""
        response = self.admin.get(f"/{path}", params={"limit": 1})
        assert response.status_code == 200, response.text
        return response.json()["total"]
