"""Bodies the API cannot read: malformed JSON, other content types, non-finite numbers, size.

Every answer is a 4xx with a reason, never a 500: every client in this module fails the test
on any 5xx (the `no_server_errors` marker), so each case checks both the status it expects
and that nothing on the way crashed.
"""

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Backend
from tests.support.checks import assert_422_naming
from tests.support.records import Records

pytestmark = pytest.mark.no_server_errors


# Malformed bodies


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"",
        b"{'name': 'single quotes'}",
        b'{"name": "unterminated',
        b'{"name": "x",}',
        b"[]",
        b"null",
        b"42",
        b'"name"',
        b'{"name": "x"} trailing',
        b"\xff\xfe{}",
    ],
    ids=lambda c: repr(c[:24]),
)
def test_invalid_json_body(admin: httpx.Client, records: Records, content: bytes) -> None:
    tag = records.create("tags")
    for method, url in [("POST", "/tags"), ("PUT", f"/tags/{tag['id']}")]:
        response = admin.request(
            method, url, content=content, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, response.text
    assert admin.get("/tags").json()["items"] == [tag]


@pytest.mark.parametrize(
    "content",
    [
        b'{"name": "\xff"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"name": "x", "owner_group_id": ' + b"1" * 5000 + b"}",
    ],
    ids=["not-utf8", "nested-too-deep", "5000-digit-number"],
)
def test_undecodable_body(admin: httpx.Client, records: Records, content: bytes) -> None:
    # FastAPI answers 400 "There was an error parsing the body" to what json.loads
    # cannot decode at all (as opposed to malformed JSON, a 422); either way no 5xx.
    tag = records.create("tags")
    for method, url in [("POST", "/tags"), ("PUT", f"/tags/{tag['id']}")]:
        response = admin.request(
            method, url, content=content, headers={"Content-Type": "application/json"}
        )
        assert response.status_code in (400, 422), response.text
        assert "detail" in response.json()
    assert admin.get("/tags").json()["items"] == [tag]


def test_invalid_json_is_422(admin: httpx.Client) -> None:
    response = admin.post(
        "/customers", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_body_without_json_content_type(admin: httpx.Client, content_type: str) -> None:
    response = admin.post(
        "/customers", content=b'{"name": "Acme"}', headers={"Content-Type": content_type}
    )
    assert response.status_code in (415, 422), response.text
    assert admin.get("/customers").json()["total"] == 0


@pytest.mark.parametrize(
    ("field", "literal"),
    [("budget", "NaN"), ("budget", "Infinity"), ("budget", "-Infinity"), ("budget", "1e400")],
)
def test_non_finite_numbers(admin: httpx.Client, field: str, literal: str) -> None:
    content = f'{{"name": "p", "{field}": {literal}}}'.encode()
    response = admin.post(
        "/projects", content=content, headers={"Content-Type": "application/json"}
    )
    assert_422_naming(response, field)


def test_non_finite_numbers_for_ints(admin: httpx.Client, records: Records) -> None:
    task = records.create("tasks")
    for literal in ("NaN", "Infinity", "1e400", "3.0000000001"):
        response = admin.put(
            f"/tasks/{task['id']}",
            content=f'{{"priority": {literal}}}'.encode(),
            headers={"Content-Type": "application/json"},
        )
        assert_422_naming(response, "priority")


# Body size


def body_of(size: int) -> bytes:
    """Return a JSON object of exactly `size` bytes."""
    head, tail = b'{"name": "Acme", "notes": "', b'"}'
    return head + b"n" * (size - len(head) - len(tail)) + tail


def test_body_over_limit_with_content_length(admin: httpx.Client, live: Backend) -> None:
    content = body_of(live.settings.max_body_bytes + 1)
    response = admin.post(
        "/customers", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "detail" in response.json()
    assert admin.get("/customers").json()["total"] == 0


def test_body_over_limit_chunked(admin: httpx.Client, live: Backend) -> None:
    content = body_of(2 * live.settings.max_body_bytes)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(content), 64 * 1024):
            yield content[start : start + 64 * 1024]

    response = admin.post(
        "/customers", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert admin.get("/customers").json()["total"] == 0


def test_body_over_limit_refused_before_authentication(anon: httpx.Client, live: Backend) -> None:
    content = body_of(live.settings.max_body_bytes + 1)
    for url in ("/auth/register", "/auth/login", "/customers"):
        response = anon.post(url, content=content, headers={"Content-Type": "application/json"})
        assert response.status_code == 413, url


def test_body_under_limit_is_read(admin: httpx.Client, live: Backend) -> None:
    # Just under the limit: read and validated (notes is longer than its 100 000 characters).
    content = body_of(live.settings.max_body_bytes)
    response = admin.post(
        "/customers", content=content, headers={"Content-Type": "application/json"}
    )
    assert_422_naming(response, "notes")


def test_chunked_body_under_limit_is_accepted(admin: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": '
        yield b'"Chunked"}'

    response = admin.post(
        "/customers", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Chunked"
