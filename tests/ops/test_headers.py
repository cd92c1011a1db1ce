"""Security headers on every response: API, pages, refusals, static files, docs."""

import base64
import hashlib
import re

import httpx
import pytest

from tests.conftest import Backend
from tests.support.database import PROXY

BASE_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def assert_secured(response: httpx.Response, *, cached: bool = False) -> None:
    for name, value in BASE_HEADERS.items():
        assert response.headers.get(name) == value, (response.url, name)
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    if cached:
        assert response.headers.get("cache-control") != "no-store"
    else:
        assert response.headers["cache-control"] == "no-store", response.url
    assert "strict-transport-security" not in response.headers  # plain HTTP


@pytest.fixture
def site(live: Backend) -> httpx.Client:
    with httpx.Client(base_url=live.base_url, timeout=30) as client:
        yield client


def signed_in(site: httpx.Client, username: str, password: str) -> httpx.Client:
    answered = site.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert answered.status_code == 200
    return site


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/readyz", "/api/v1/tasks", "/api/v1/auth/me", "/login", "/dashboard", "/nope"],
)
def test_anonymous_answers_carry_the_headers(site: httpx.Client, path: str) -> None:
    assert_secured(site.get(path))


@pytest.mark.parametrize(
    "path", ["/dashboard", "/roles/1", "/users/1/edit", "/tasks", "/api/v1/users/1", "/sessions"]
)
def test_signed_in_answers_are_never_cached(site: httpx.Client, path: str) -> None:
    response = signed_in(site, "admin", "admin123").get(path)
    assert response.status_code == 200
    assert_secured(response)


def test_refusals_carry_the_headers(site: httpx.Client) -> None:
    oversized = site.post(
        "/api/v1/auth/login", content=b"x" * 2_000_000, headers={"content-type": "application/json"}
    )
    assert oversized.status_code == 413
    assert_secured(oversized)
    assert_secured(site.post("/api/v1/auth/login", json={}))  # 422


def test_static_files_may_be_cached(site: httpx.Client) -> None:
    response = site.get("/static/js/app.js")
    assert response.status_code == 200
    assert_secured(response, cached=True)


def test_hsts_only_over_https(live: Backend) -> None:
    """Behind the proxy (a peer named in TRUSTED_PROXIES), X-Forwarded-Proto says how the
    visitor came; from any other peer, it says nothing."""
    proxy = httpx.HTTPTransport(local_address=PROXY)
    with httpx.Client(base_url=live.base_url, transport=proxy) as behind:
        response = behind.get("/healthz", headers={"x-forwarded-proto": "https"})
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")
        assert "strict-transport-security" not in behind.get("/healthz").headers
    with httpx.Client(base_url=live.base_url) as direct:
        response = direct.get("/healthz", headers={"x-forwarded-proto": "https"})
        assert "strict-transport-security" not in response.headers


def test_docs_allow_exactly_their_inline_script(site: httpx.Client) -> None:
    response = site.get("/docs")
    assert response.status_code == 200
    scripts = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert scripts
    policy = response.headers["content-security-policy"]
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy


def test_pages_have_no_inline_script_or_style(site: httpx.Client) -> None:
    """What the policy refuses is not in the pages: no <script> body, style or on* attribute."""
    signed_in(site, "admin", "admin123")
    tag = site.post("/api/v1/tags", json={"name": "red", "color": "#ff0000"}).json()["id"]
    pages = ("/dashboard", "/roles/1", "/tasks", "/tasks/new", "/users/1", "/sessions", "/tags")
    for path in (*pages, f"/tags/{tag}"):
        html = site.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html), path
