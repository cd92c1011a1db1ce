"""Every curl example in the docs runs against a live server and gets the status it documents.

The pages run in order on a freshly seeded database, each in its own directory (cookie
jars), on every backend; between them they must call every endpoint of the JSON API (and
the operations endpoints) successfully at least once.
"""

import shutil
from pathlib import Path

import pytest

from tests.conftest import Backend
from tests.docs.examples import PAGES, Call, blocks, examples, mismatches, read, run_page
from tests.html.routes import served_routes
from tests.support import database

OPERATIONS = {("GET", "/healthz"), ("GET", "/readyz")}


def api_routes(directory: Path) -> set[tuple[str, str]]:
    """Return (method, path template) of every API and operations route the app serves."""
    served = {(r.method, r.path) for r in served_routes(directory)}
    return {route for route in served if route[1].startswith("/api/v1/")} | OPERATIONS


@pytest.fixture(scope="module", autouse=True)
def tools() -> None:
    """The examples need curl (7.82 or later, for --json) and jq; `make test` installs them."""
    for tool in ("bash", "curl", "jq"):
        assert shutil.which(tool), f"{tool} is missing: run `make tools`"


@pytest.mark.parametrize("page", PAGES)
def test_page_has_examples_each_with_a_status(page: str) -> None:
    """Every page has curl blocks, and every curl command documents its status."""
    assert blocks(read(page)), f"{page} has no examples"
    assert examples(page, read(page))  # raises on a curl command without one '# → status'


def test_every_documented_example_answers_as_documented(live: Backend, tmp_path: Path) -> None:
    """Run each page's examples on a freshly seeded database; compare every status."""
    problems: list[str] = []
    calls: list[Call] = []
    for number, page in enumerate(PAGES):
        database.reset(live.settings)
        run = run_page(page, read(page), live.base_url, tmp_path / f"page{number}")
        problems += mismatches(run)
        calls += run.calls
    assert not problems, "\n\n".join(problems)

    succeeded = {call.route for call in calls if 200 <= call.status < 300}
    missing = api_routes(tmp_path) - succeeded
    assert not missing, f"endpoints without a successful documented example: {sorted(missing)}"


SELF_TEST = """
```sh
curl -s "$BASE/healthz"  # → 200
READY=$(curl -s "$BASE/readyz" | jq -r .status)  # → 404
curl -s "$BASE/api/v1/auth/me"  # → 401
```
"""


def test_a_wrong_documented_status_is_reported(live: Backend, tmp_path: Path) -> None:
    """The harness notices a status that differs from the page, and names the command."""
    run = run_page("self-test", SELF_TEST, live.base_url, tmp_path)
    assert [call.status for call in run.calls] == [200, 200, 401]
    problems = mismatches(run)
    assert len(problems) == 1 and "got 200" in problems[0] and "/readyz" in problems[0]


def test_a_failing_command_stops_the_page_and_is_reported(live: Backend, tmp_path: Path) -> None:
    """A command that fails (here jq on an HTML page) stops the run; the report says where."""
    page = SELF_TEST.replace('/readyz" | jq -r .status', '/login" | jq -r .status')
    run = run_page("self-test", page, live.base_url, tmp_path)
    problems = mismatches(run)
    assert run.code != 0 and "2 of 3 examples ran" in problems[-1]


def test_a_curl_without_a_documented_status_is_refused() -> None:
    """Every curl command must say what it answers."""
    with pytest.raises(ValueError, match="one '# → status'"):
        examples("self-test", '```sh\ncurl -s "$BASE/healthz"\n```\n')
