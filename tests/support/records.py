"""Minimal valid bodies for every resource, and records made through the API as admin."""

from typing import Any

import httpx

from app.resources import REGISTRY, RESOURCES
from tests.support.factories import unique

ALL = [res.path for res in RESOURCES]
# Every resource but sessions, which come from logins and are never created or edited.
CREATABLE = [res.path for res in RESOURCES if res.create_schema is not None]
OWNER_FIELDS = ("owner_user_id", "owner_group_id")

# resource path -> (field naming its required parent, the parent's resource path)
PARENTS: dict[str, tuple[str, str]] = {
    "tasks": ("project_id", "projects"),
    "comments": ("task_id", "tasks"),
    "time_entries": ("task_id", "tasks"),
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


def own_fields(path: str) -> dict[str, Any]:
    """Return the required fields of a `path` record, parents left out."""
    name = unique("rec")
    fields: dict[str, dict[str, Any]] = {
        "users": {"username": name, "email": f"{name}@example.com", "password": "password123"},
        "roles": {"name": name},
        "permissions": {"model": name, "action": "read", "scope": "own"},
        "groups": {"name": name},
        "customers": {"name": name},
        "projects": {"name": name},
        "tasks": {"title": name},
        "tags": {"name": name},
        "comments": {"body": name},
        "time_entries": {"spent_on": "2024-05-06", "minutes": 30},
    }
    return fields[path]


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
