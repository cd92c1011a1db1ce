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
    """What json.loads cannot decode at all is malformed JSON too: 422, as the rest."""
    tag = records.create("tags")
    for method, url in [("POST", "/tags"), ("PUT", f"/tags/{tag['id']}")]:
        response = admin.request(
            method, url, content=content, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["type"] == "json_invalid"
    assert admin.get("/tags").json()["items"] == [tag]


def test_invalid_json_is_422(admin: httpx.Client) -> None:
    response = admin.post(
        "/customers", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


# What an HTML form on another site can send (the browser adds the SameSite=Lax cookie to
# none of these cross-site POSTs, and the API refuses them anyway).
FORM_TYPES = [
    "text/plain",
    "text/plain; charset=utf-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "",
]


@pytest.mark.parametrize("content_type", FORM_TYPES)
def test_body_without_json_content_type(admin: httpx.Client, content_type: str) -> None:
    response = admin.post(
        "/customers", content=b'{"name": "Acme"}', headers={"Content-Type": content_type}
    )
    assert response.status_code == 415, response.text
    assert "application/json" in response.json()["detail"]
    assert admin.get("/customers").json()["total"] == 0


@pytest.mark.parametrize("content_type", FORM_TYPES)
def test_every_writing_route_refuses_form_bodies(admin: httpx.Client, content_type: str) -> None:
    """Every POST, PUT and DELETE of the API, a body of a form's type: 415, nothing done."""
    for method, url in [
        ("POST", "/auth/logout"),
        ("POST", "/auth/login"),
        ("POST", "/auth/register"),
        ("PUT", "/users/1"),
        ("DELETE", "/sessions"),
        ("DELETE", "/tags/1"),
        ("POST", "/roles"),
    ]:
        response = admin.request(
            method, url, content=b"name=x&username=x", headers={"Content-Type": content_type}
        )
        assert response.status_code == 415, (method, url, response.text)
    assert admin.get("/auth/me").status_code == 200  # still signed in


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/merge-patch+json"]
)
def test_json_media_types_accepted(admin: httpx.Client, content_type: str) -> None:
    response = admin.post(
        "/tags", content=b'{"name": "typed"}', headers={"Content-Type": content_type}
    )
    assert response.status_code == 201, response.text


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
