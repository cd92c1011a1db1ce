"""The words of a permission, `<model>:<action>:<scope>` (and `[condition]` when it has
one): its actions and scopes, its name, the permissions beside the tables' grid, and the
seeded roles' default grants."""

import re

ACTIONS = ("create", "read", "update", "delete")
SCOPES = ("all", "own", "group")
DEFAULT_ROLE = "user"  # the role every registration gets
AUDIT_READ = "audit:read:all"  # the permission to read the audit log (admin's, by default)
METRICS_READ = "metrics:read:all"  # the permission to scrape `GET /metrics` (admin's too)
EXTRA = (AUDIT_READ, METRICS_READ)  # the permissions beside the tables' grid
# Default grants (`action:scope`) of the seeded roles that are not admin (which holds every
# permission at `all`): a business table people own, and its records worked on in groups.
OWN_WORK = ("create:own", "read:own", "update:own", "delete:own", "read:group")
GROUP_WORK = ("create:group", "read:group", "update:group", "delete:group")
OWNED = {"user": OWN_WORK, "manager": GROUP_WORK}


def permission_name(model: str, action: str, scope: str, condition: str | None = None) -> str:
    """`model:action:scope`, or `model:action:scope[condition]` for one with a condition."""
    name = f"{model}:{action}:{scope}"
    return f"{name}[{condition}]" if condition else name


def parse_permission(name: str) -> tuple[str, str, str, str | None]:
    """The parts of `model:action:scope[condition]` (the condition None without one): what
    `permission_name` joins."""
    base, _, condition = name.partition("[")
    model, _, rest = base.partition(":")
    action, _, scope = rest.partition(":")
    return model, action, scope, condition.removesuffix("]") or None


def snake_case(name: str) -> str:
    """A table's class name as its permission model: `TimeEntry` -> `time_entry`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
