"""Settings refuse what is unsafe: the app does not start on a guessable key."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core import config
from app.core.config import PLACEHOLDER_SECRET, ConfigurationError, Settings
from app.main import create_app

ROOT = Path(__file__).resolve().parents[2]
STRONG = "k" * 32


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ENVIRONMENT", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(config, "DEV_SECRET_FILE", tmp_path / "var" / "secret_key")


def test_environment_defaults_to_production() -> None:
    assert Settings(_env_file=None, secret_key=STRONG).environment == "production"


@pytest.mark.parametrize("environment", ["production", "test"])
@pytest.mark.parametrize("key", ["abc", "k" * 31, "é" * 15])
def test_short_secret_refused_outside_development(environment: str, key: str) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY must be at least 32 bytes"):
        Settings(_env_file=None, environment=environment, secret_key=key)


@pytest.mark.parametrize("environment", ["development", "test", "production"])
def test_placeholder_secret_refused_everywhere(environment: str) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(_env_file=None, environment=environment, secret_key=PLACEHOLDER_SECRET)


def test_thirty_two_bytes_accepted_in_production() -> None:
    assert Settings(_env_file=None, secret_key="é" * 16).secret_key == "é" * 16


def test_serving_without_secret_refused_outside_development() -> None:
    settings = Settings(_env_file=None, environment="production")
    with pytest.raises(ConfigurationError, match="SECRET_KEY must be set"):
        create_app(settings)


def test_development_makes_and_keeps_its_own_key() -> None:
    first = Settings(_env_file=None, environment="development").secret_key
    again = Settings(_env_file=None, environment="development").secret_key
    assert len(first.encode()) >= 32 and first == again
    assert config.DEV_SECRET_FILE.stat().st_mode & 0o077 == 0  # readable by its owner only


@pytest.mark.parametrize(
    ("environment", "key", "says"),
    [
        ({}, None, "SECRET_KEY must be set"),
        ({"ENVIRONMENT": "production"}, "short", "SECRET_KEY must be at least 32 bytes"),
        ({"ENVIRONMENT": "test"}, PLACEHOLDER_SECRET, "placeholder"),
        ({"ENVIRONMENT": "production", "CORS_ORIGINS": "*"}, STRONG, "CORS_ORIGINS cannot be"),
    ],
)
def test_start_stops_with_one_clear_line(
    environment: dict[str, str], key: str | None, says: str, tmp_path: Path
) -> None:
    """Importing the app (what uvicorn does) exits non-zero, saying why on one line."""
    env = {k: v for k, v in os.environ.items() if k not in ("ENVIRONMENT", "SECRET_KEY")}
    env |= environment | {"DATABASE_URL": f"sqlite:///{tmp_path}/app.db"}
    if key is not None:
        env["SECRET_KEY"] = key
    done = subprocess.run(
        [sys.executable, "-c", "import app.main"],
        cwd=tmp_path,
        env=env | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("configuration refused:"), done.stderr
    assert says in lines[0]


def test_no_proxy_is_trusted_by_default() -> None:
    assert Settings(_env_file=None, secret_key=STRONG).trusted_proxies == []


@pytest.mark.parametrize(
    ("given", "read"),
    [
        ("127.0.0.1", ["127.0.0.1/32"]),
        ("127.0.0.1, 10.0.0.0/8", ["127.0.0.1/32", "10.0.0.0/8"]),
        ('["::1", "192.168.1.7/24"]', ["::1/128", "192.168.1.0/24"]),
        ("", []),
    ],
)
def test_trusted_proxies_are_addresses_or_networks(
    monkeypatch: pytest.MonkeyPatch, given: str, read: list[str]
) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", given)
    assert Settings(_env_file=None, secret_key=STRONG).trusted_proxies == read


@pytest.mark.parametrize("given", ["*", "nginx", "127.0.0.1,proxy.local", "10.0.0.0/33"])
def test_a_proxy_that_is_no_address_is_refused(monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", given)
    with pytest.raises(ValidationError, match=r"TRUSTED_PROXIES: .* is not an IP address"):
        Settings(_env_file=None, secret_key=STRONG)
