"""The words of a permission, `<model>:<action>:<scope>`: its actions and scopes, and the
permissions beside the tables' grid."""

ACTIONS = ("create", "read", "update", "delete")
SCOPES = ("all", "own", "group")
DEFAULT_ROLE = "user"  # the role every registration gets
AUDIT_READ = "audit:read:all"  # the permission to read the audit log (admin's, by default)
