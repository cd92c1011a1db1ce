"""Small factories that create records through the API, the way a client would."""

import itertools
from collections.abc import Callable
from typing import Any

import httpx

_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


class UserFactory:
    """Create users (and their roles and groups) as admin; sign them in."""

    def __init__(self, admin: httpx.Client, login: Callable[[str, str], httpx.Client]) -> None:
        self.admin = admin
        self.login = login

    def role_id(self, name: str) -> int:
        found = self.admin.get("/roles", params={"q": name}).json()["items"]
        return next(role["id"] for role in found if role["name"] == name)

    def group(self, name: str | None = None) -> dict[str, Any]:
        response = self.admin.post("/groups", json={"name": name or unique("group")})
        assert response.status_code == 201, response.text
        return response.json()

    def __call__(
        self,
        roles: tuple[str, ...] = ("user",),
        groups: tuple[int, ...] = (),
        password: str = "tidal-parsnip-42",
    ) -> tuple[dict[str, Any], httpx.Client]:
        username = unique("user")
        response = self.admin.post(
            "/users",
            json={
                "username": username,
                "email": f"{username}@example.com",
                "password": password,
                "role_ids": [self.role_id(name) for name in roles],
                "group_ids": list(groups),
            },
        )
        assert response.status_code == 201, response.text
        return response.json(), self.login(username, password)
