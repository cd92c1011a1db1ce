"""The generated sections of a hand-written page: the comments that mark one, and
filling each with what the code generates (`scripts/gen_docs.py`)."""

import re
from pathlib import Path


def marker(name: str) -> tuple[str, str]:
    """Return the comments that open and close a generated section."""
    return f"<!-- generated:{name} (scripts/gen_docs.py) -->", f"<!-- end generated:{name} -->"


def fill(text: str, page: Path, sections: dict[str, str]) -> str:
    """Regenerate each named section of a page; every one must be marked in it."""
    for name, body in sections.items():
        begin, end = marker(name)
        pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
        if not pattern.search(text):
            raise ValueError(f"{page.name} lacks the markers {begin} ... {end}")
        replacement = f"{begin}\n{body}\n{end}"
        text = pattern.sub(lambda _, new=replacement: new, text)
    return text
