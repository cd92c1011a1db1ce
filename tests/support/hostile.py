"""What a hostile client sends that generated input rarely holds: NUL bytes, digits other
than ASCII's, and list cursors it made up. One list, used by the API, page and fuzz tests."""

import base64
import json
from typing import Any

# PostgreSQL stores no NUL byte: every text a client sends must be refused before it.
NUL_VALUES = ["\x00", "a\x00b", "1\x00"]
# str.isdigit() holds for superscripts and circled digits, which int() refuses; int() reads
# Arabic-Indic and full-width digits as numbers: none of them is a number here.
ODD_DIGITS = ["\u00b2", "\u2460", "\u2075", "\u0661\u0662", "\uff11\uff12", "1\u00b2"]


def forged(sort: str, value: Any, id: Any) -> str:
    """A cursor as the lists encode one, holding what the caller chose."""
    return encoded(json.dumps([sort, value, id]).encode())


def encoded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Cursors a client made up: past the years a time holds in UTC, text no database stores,
# numbers past their column, shapes no list hands out. (path, sort, cursor)
PAST_THE_YEARS = [("", "0001-01-01T00:00:00+14:00"), ("-", "9999-12-31T23:59:59-14:00")]
TAMPERED = [
    *(
        (path, f"{sign}{column}", forged(f"{sign}{column}", moment, 1))
        for path, column in (
            ("customers", "created_at"),
            ("tasks", "due_at"),
            ("users", "last_login_at"),
        )
        for sign, moment in PAST_THE_YEARS
    ),
    ("customers", "name", forged("name", "\ud800", 1)),
    ("tags", "-name", forged("-name", "a\udfffb", 1)),
    ("customers", "name", forged("name", "a\x00b", 1)),
    ("tasks", "priority", forged("priority", 40000, 1)),
    ("projects", "budget", forged("budget", "NaN", 1)),
    ("projects", "budget", forged("budget", "Infinity", 1)),
    ("projects", "budget", forged("budget", "1e999999", 1)),
    ("projects", "-budget", forged("-budget", "100000000000", 1)),
    ("projects", "budget", forged("budget", "1E-99999", 1)),
    ("projects", "budget", forged("budget", "0.001", 1)),
    ("projects", "due_date", forged("due_date", "0000-01-01", 1)),
    ("projects", "due_date", forged("due_date", "2026-02-30", 1)),
    ("tasks", "due_at", forged("due_at", "2026-01-01T25:00:00Z", 1)),
    ("tasks", "", encoded(b"[" * 3000 + b"]" * 3000)),
    ("tasks", "", encoded(b'{"a": 1, "b": 2, "c": 3}')),
    ("tasks", "", encoded(b'"abc"')),
    ("tasks", "", encoded(b'["", null, 1, 2]')),
    ("tasks", "", encoded(b'["", null, 1e400]')),
    ("tasks", "", encoded(b'["", null, ' + b"9" * 5000 + b"]")),
    ("tasks", "", encoded(b"\xff\xfe[]")),
    ("tasks", "", "x" * 5000),
]
