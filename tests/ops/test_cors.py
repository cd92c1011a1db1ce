"""CORS: configured origins get credentialed preflights; others are refused."""

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from app.core.config import Settings
from tests.support import database, server

ALLOWED = "http://allowed.example"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path: Path = tmp_path_factory.mktemp("cors") / "app.db"
    settings = database.test_settings(database_url=f"sqlite:///{path}", sqlite_path=path)
    settings = settings.model_copy(update={"cors_origins": [ALLOWED]})
    database.migrate(settings)
    with server.serve(settings) as url:
        yield url


def preflight(base_url: str, origin: str) -> httpx.Response:
    return httpx.options(
        f"{base_url}/api/v1/customers",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )


def test_preflight_from_allowed_origin(base_url: str) -> None:
    response = preflight(base_url, ALLOWED)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]


def test_preflight_from_other_origin_is_refused(base_url: str) -> None:
    response = preflight(base_url, "http://refused.example")
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_simple_request_from_allowed_origin_is_echoed(base_url: str) -> None:
    response = httpx.get(f"{base_url}/healthz", headers={"Origin": ALLOWED}, timeout=10)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    other = httpx.get(f"{base_url}/healthz", headers={"Origin": "http://refused.example"})
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(
    "raw",
    [
        "http://a.example, http://b.example",
        "http://a.example,http://b.example,",
        json.dumps(["http://a.example", "http://b.example"]),
        ' ["http://a.example", "http://b.example"] ',
    ],
)
def test_cors_origins_from_environment(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", raw)
    settings = Settings(_env_file=None, environment="development")
    assert settings.cors_origins == ["http://a.example", "http://b.example"]


def test_cors_origins_default_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORS_ORIGINS", raising=False)
    assert Settings(_env_file=None, environment="development").cors_origins == []


@pytest.mark.parametrize(
    "raw", ["*", "http://a.example, *", "http://a.example/", "a.example", "null"]
)
def test_cors_origins_refuse_wildcards_and_non_origins(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`*` with credentials would let any site act as a signed-in visitor: refused at start."""
    monkeypatch.setenv("CORS_ORIGINS", raw)
    with pytest.raises(ValidationError, match="CORS_ORIGINS"):
        Settings(_env_file=None, environment="development")
