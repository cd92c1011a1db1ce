"""The crud objects with behaviour of their own; every other table uses `CRUDBase` as is.

The registry (`app/resources.py`) gives each resource its crud object: the ones below, or a
plain `CRUDBase(model)` made from the resource's model.
"""

from app.crud.login_session import login_session
from app.crud.permission import permission
from app.crud.role import role
from app.crud.user import user

__all__ = ["login_session", "permission", "role", "user"]
