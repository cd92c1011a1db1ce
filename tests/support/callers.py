"""Users holding exactly the permissions a test names, through a custom role."""

from typing import Any

import httpx

from app.models import ACTIONS
from app.resources import REGISTRY
from tests.support.factories import UserFactory, unique


class Callers:
    """Create custom roles and the users who hold them, as admin."""

    def __init__(self, admin: httpx.Client, make_user: UserFactory) -> None:
        self.admin = admin
        self.make_user = make_user
        self._ids: dict[str, int] | None = None

    def permission_ids(self, *names: str) -> list[int]:
        """Return the ids of permissions named `model:action:scope`."""
        if self._ids is None:
            page = self.admin.get("/permissions", params={"limit": 200}).json()
            assert page["total"] <= 200, "more permissions than one page holds"
            self._ids = {item["name"]: item["id"] for item in page["items"]}
        return [self._ids[name] for name in names]

    def role(self, *permissions: str) -> dict[str, Any]:
        """Create a role holding exactly `permissions`."""
        response = self.admin.post(
            "/roles",
            json={"name": unique("role"), "permission_ids": self.permission_ids(*permissions)},
        )
        assert response.status_code == 201, response.text
        return response.json()

    def __call__(
        self, *permissions: str, groups: tuple[int, ...] = ()
    ) -> tuple[dict[str, Any], httpx.Client]:
        """Return a new user holding exactly `permissions`, in `groups`, and their client."""
        roles = (self.role(*permissions)["name"],) if permissions else ()
        return self.make_user(roles=roles, groups=groups)


def permissions(path: str, scope: str, actions: tuple[str, ...] = ACTIONS) -> list[str]:
    """Return the names of the `path` model's permissions for `actions` in `scope`."""
    return [f"{REGISTRY[path].policy_model}:{action}:{scope}" for action in actions]
