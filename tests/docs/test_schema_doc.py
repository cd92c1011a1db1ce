"""docs/schema.md is what the migrations produce; the generated defaults are what init_db seeds.

`scripts/gen_docs.py --check` compares the pages with what the code generates;
test_schema_doc_postgres.py runs the page's SQL into an empty PostgreSQL database.
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from app.core.config import PROJECT_ROOT
from app.core.database import Base

SCHEMA_PAGE = PROJECT_ROOT / "docs/schema.md"
SQL_BLOCK = re.compile(r"^```sql\n(.*?)^```", re.M | re.S)
TABLES = [table.name for table in Base.metadata.sorted_tables]


def load_generator() -> ModuleType:
    """Import scripts/gen_docs.py (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("gen_docs", PROJECT_ROOT / "scripts/gen_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def page_sql(page: str) -> str:
    """Return the SQL blocks of a page, in order, as one script."""
    return "\n".join(SQL_BLOCK.findall(page))


def test_generated_pages_are_up_to_date() -> None:
    """`gen_docs.py --check` finds nothing stale: the pages are what the code generates."""
    result = subprocess.run(
        [sys.executable, "scripts/gen_docs.py", "--check"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_check_reports_a_stale_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page edited by hand (one index dropped) is reported stale and left as it was."""
    generator = load_generator()
    stale = SCHEMA_PAGE.read_text().replace("CREATE INDEX ix_tasks_status ON tasks (status);", "")
    assert stale != SCHEMA_PAGE.read_text()
    copy = tmp_path / "schema.md"
    copy.write_text(stale)
    monkeypatch.setattr(generator, "SCHEMA_DOC", copy)
    assert generator.main(["--check"]) == 1
    assert copy.read_text() == stale


def test_page_documents_every_table_with_its_sql() -> None:
    """Each table of the models has a section with its CREATE TABLE, and nothing more."""
    page = SCHEMA_PAGE.read_text()
    created = re.findall(r"^CREATE TABLE (\w+)", page_sql(page), re.M)
    assert sorted(created) == sorted(TABLES)
    for table in TABLES:
        assert f"\n## {table}\n" in page
