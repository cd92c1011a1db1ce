"""Every file the docs and the code's docstrings point a reader to exists: a module moved or
renamed leaves no path behind that leads nowhere."""

import re

from tests.test_architecture import ROOT, tracked_text_files

PATH = re.compile(r"\b(?:app|tests|scripts|docs|migrations|templates)/[\w/.-]+\.(?:py|md|html)\b")
# Paths that name a file on purpose absent: those the table recipe has a contributor create,
# and the files a test writes into a copy of the app.
CREATED_ELSEWHERE = re.compile(r"invoice|^(app|templates)/x\.(py|html)$")


def test_every_path_named_exists() -> None:
    missing = [
        f"{path.relative_to(ROOT)}: {found}"
        for path in tracked_text_files()
        if path.suffix in (".py", ".md")
        for found in PATH.findall(path.read_text())
        if not (ROOT / found).exists() and not CREATED_ELSEWHERE.search(found)
    ]
    assert missing == []
