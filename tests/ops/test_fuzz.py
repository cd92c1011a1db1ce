"""Schemathesis fuzzes the live API as admin and as demo, from its own OpenAPI document.

Every operation gets schema-derived and schema-violating requests (the examples, coverage
and fuzzing phases); the run fails on any server error, any response that breaks the
documented schema, content type or headers, any status the document does not list, a
schema-violating request that is accepted, or a 405 whose Allow header is wrong.

Left out, for the reasons the README's security section gives: `positive_data_acceptance`
(a schema-valid id may name no record, so a valid request may rightly answer 422),
the checks that need links between operations (`use_after_free`,
`ensure_resource_availability`) or a second identity (`ignored_auth`,
`object_level_authorization`: the authorization matrix tests cover them), and the two
operations that end the fuzzer's own credentials (`POST /auth/logout`, `DELETE /sessions`,
each tested on its own).
"""

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.config import PROJECT_ROOT
from tests.conftest import Backend
from tests.support.hostile import NUL_VALUES, ODD_DIGITS, TAMPERED

ST = Path(sys.executable).with_name("st")
LEFT_OUT_CHECKS = (
    "positive_data_acceptance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
)
LEFT_OUT_OPERATIONS = ("POST /api/v1/auth/logout", "DELETE /api/v1/sessions")
MAX_EXAMPLES = 15


def tree_seed() -> int:
    """The fuzzer's seed: the commit under test's, so one tree always fuzzes the same way (a
    red run is red again when rerun, and says how to reproduce it) and each new commit
    explores anew. Without git, a fixed one."""
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True
    ).stdout.strip()
    return int(head[:8], 16) if head else 20261204


# Schemathesis's statuses that reject schema-violating data, and 413: a generated body
# beyond MAX_BODY_BYTES is refused as too large before its schema is read.
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422",
                     "428", "429", "5xx"]
"""


@pytest.mark.parametrize(("username", "password"), [("admin", "admin123"), ("demo", "demo123")])
def test_schemathesis_finds_nothing(
    live: Backend, username: str, password: str, tmp_path: Path
) -> None:
    with httpx.Client(base_url=live.base_url) as client:
        answered = client.post(
            "/api/v1/auth/token", json={"username": username, "password": password}
        )
        assert answered.status_code == 200, answered.text
        document = client.get("/openapi.json").json()
    token = answered.json()["access_token"]
    operations = {
        f"{method.upper()} {path}": operation["operationId"]
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        str(ST),
        "--config-file",
        str(config),
        "run",
        f"{live.base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(LEFT_OUT_CHECKS),
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(seed := tree_seed()),
        "--workers",
        "1",
        "--no-color",
    ]
    for operation in LEFT_OUT_OPERATIONS:
        command += ["--exclude-operation-id", operations[operation]]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False
    )
    report = done.stdout[-20_000:] + done.stderr[-5_000:]
    assert done.returncode == 0, f"seed {seed} (`st run --seed {seed} ...`)\n{report}"
    tested = re.search(r"Tested: (\d+)", report)
    assert tested and int(tested.group(1)) == len(operations) - len(LEFT_OUT_OPERATIONS), report


def integer_schema(schema: dict[str, Any]) -> bool:
    """Whether a parameter's schema takes an integer (alone, or beside a blank)."""
    options = schema.get("anyOf", [schema])
    return any(option.get("type") == "integer" for option in options)


TAMPERED_CURSORS = [cursor for _, _, cursor in TAMPERED[::3]]


def hostile_queries(document: dict[str, Any]) -> Iterator[tuple[str, str, str, str, bool]]:
    """Yield (method, url, parameter, value, whether it must be refused with 422) for each
    query parameter of each operation of an OpenAPI document (path ids set to 1)."""
    for path, methods in document["paths"].items():
        if path in ("/api/v1/auth/logout", "/api/v1/sessions"):
            continue  # they end the client's own credentials
        url = re.sub(r"\{[^}]+\}", "1", path)
        for method, operation in methods.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                name, schema = parameter["name"], parameter.get("schema", {})
                cases = [(value, True) for value in NUL_VALUES]
                cases += [(value, integer_schema(schema)) for value in ODD_DIGITS]
                if name == "cursor":
                    cases += [(value, True) for value in TAMPERED_CURSORS]
                for value, refused in cases:
                    yield method, url, name, value, refused


def test_every_query_parameter_refuses_hostile_values(live: Backend) -> None:
    """Each query parameter of each operation in the OpenAPI document, sent NUL bytes (422),
    digits beyond ASCII (422 where a number goes) and tampered cursors (422): never a 5xx."""
    with httpx.Client(base_url=live.base_url, timeout=30) as client:
        credentials = {"username": "admin", "password": "admin123"}
        token = client.post("/api/v1/auth/token", json=credentials).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        cases = list(hostile_queries(client.get("/openapi.json").json()))
        for method, url, name, value, refused in cases:
            body = {} if method in ("post", "put") else None
            answer = client.request(method, url, params={name: value}, json=body)
            said = f"{method.upper()} {url} {name}={value!r}: {answer.status_code} {answer.text}"
            assert answer.status_code < 500, said
            if refused:
                assert answer.status_code == 422, said
                assert ["query", name] in [error["loc"] for error in answer.json()["detail"]], said
    assert len(cases) > 500, len(cases)
