"""The words of a permission, `<model>:<action>:<scope>` (and `[condition]` when it has
one): its actions and scopes, its name, and the permissions beside the tables' grid."""

ACTIONS = ("create", "read", "update", "delete")
SCOPES = ("all", "own", "group")
DEFAULT_ROLE = "user"  # the role every registration gets
AUDIT_READ = "audit:read:all"  # the permission to read the audit log (admin's, by default)


def permission_name(model: str, action: str, scope: str, condition: str | None = None) -> str:
    """`model:action:scope`, or `model:action:scope[condition]` for one with a condition."""
    name = f"{model}:{action}:{scope}"
    return f"{name}[{condition}]" if condition else name
