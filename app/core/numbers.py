"""Whole numbers typed by a client (a form's ids, a command's argument): ASCII digits only,
within the range of the column they go to."""

import re

INT_MAX = 2**31 - 1  # the largest INTEGER (and SERIAL id) both databases hold
SMALLINT_MAX = 2**15 - 1
# `str.isdigit()` holds for superscripts and circled digits, which int() refuses (a 500),
# and int() reads Arabic-Indic and full-width digits: only 0 to 9 are digits here.
DIGITS = re.compile(r"[0-9]+")


def whole_number(raw: object, *, low: int = 1, high: int = INT_MAX) -> int | None:
    """Return `raw` as an int when it is ASCII digits (no sign, no spaces) from `low` to
    `high`; None for anything else."""
    if not isinstance(raw, str) or len(raw) > len(str(high)) or not DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if low <= value <= high else None
