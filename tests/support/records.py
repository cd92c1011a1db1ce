"""Valid bodies and records for every resource, made through the API as admin."""

from typing import Any

import httpx

from tests.support.factories import unique

# resource path -> (field naming its required parent, the parent's resource path)
PARENT: dict[str, tuple[str, str]] = {
    "tasks": ("project_id", "projects"),
    "comments": ("task_id", "tasks"),
    "time_entries": ("task_id", "tasks"),
}


class Records:
    """Valid bodies and records for every resource, made as admin."""

    def __init__(self, admin: httpx.Client) -> None:
        self.admin = admin

    def body(self, path: str) -> dict[str, Any]:
        """Return a minimal valid create body for `path`, creating its parent."""
        name = unique("rec")
        bodies: dict[str, dict[str, Any]] = {
            "users": {"username": name, "email": f"{name}@example.com", "password": "pass1234"},
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
        body = bodies[path]
        if path in PARENT:
            field, parent = PARENT[path]
            body[field] = self.create(parent)["id"]
        return body

    def create(self, path: str, **fields: Any) -> dict[str, Any]:
        """Create a `path` record with `fields` over a valid body; return it."""
        response = self.admin.post(f"/{path}", json=self.body(path) | fields)
        assert response.status_code == 201, response.text
        return response.json()

    def any_id(self, path: str) -> int:
        """Return the id of some `path` record (sessions: admin's own login)."""
        if path == "sessions":
            return self.admin.get("/sessions").json()["items"][0]["id"]
        return self.create(path)["id"]
