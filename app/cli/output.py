"""What every `policy` command shares that costs nothing to import: its output (tables,
JSON), its usage error, and how it reads a date."""

import argparse
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any


class CliError(Exception):
    """A usage error the script reports with exit status 2 (unknown user, record, model)."""


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Render rows as an aligned plain-text table."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def emit_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=False))


def describe(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(value) or "none"
    return {True: "yes", False: "no", None: "-"}[value]


def moment(text: str) -> datetime:
    """A command-line date or time (`2026-01-31`, `2026-01-31T12:00`); UTC unless it says.

    Returned in UTC, the zone every command shows it in; an offset that carries it past
    the calendar's ends (`0001-01-01T00:00+05:00`) is a malformed date, not a traceback.
    """
    try:
        found = datetime.fromisoformat(text)
        return (found if found.tzinfo else found.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"expected a date like 2026-01-31, got {text!r}") from None
