"""Conditions: attribute-based rules a permission may carry (`task:update:own[open]`).

One grammar (`syntax.py`), parsed once into a typed tree checked against the schema
(`checker.py`), then compiled twice: to a three-valued evaluation on a record
(`evaluate.py`, what the Casbin matcher's `holds()` asks) and to a SQLAlchemy expression
(`sql.py`, what lists, counts and pickers filter by).
"""

from app.core.conditions.errors import ConditionError

__all__ = ["ConditionError"]
