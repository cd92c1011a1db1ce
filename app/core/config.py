"""Typed settings read from the environment and `.env`."""

import json
import os
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.core.addresses import proxy_network

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER_SECRET = "change-me-in-production"
MIN_SECRET_BYTES = 32
# Development without a SECRET_KEY: a random key made once and kept here (never committed).
DEV_SECRET_FILE = PROJECT_ROOT / "var" / "secret_key"
MAKE_ONE = '; make one with python -c "import secrets; print(secrets.token_urlsafe(48))"'


class Settings(BaseSettings):
    """Every knob of the application; `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Production unless told otherwise: a deployment that forgets to say so gets the strict
    # checks; `make run` says development.
    environment: Literal["development", "test", "production"] = "production"
    database_url: str | None = None
    postgres_host: str | None = None
    postgres_port: int = 5432
    postgres_user: str = "postgres"
    postgres_password: str = ""
    postgres_db: str = "postgres"
    sqlite_path: Path = PROJECT_ROOT / "var" / "app.db"

    secret_key: str = ""
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (IP
    # addresses or networks); none by default: the connection's peer is the client,
    # whatever headers it sends.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    url_prefix: str = ""
    host: str = "0.0.0.0"
    claude_internal_port: int = Field(default=8000, ge=1, le=65535)

    session_idle_minutes: int = Field(default=120, ge=1)
    session_absolute_hours: int = Field(default=24 * 7, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost: int = Field(default=65536, ge=8)
    # Threads that hash and verify passwords (off the event loop); more logins at once
    # queue behind them. On few cores, 1 keeps a login flood from starving other requests.
    password_workers: int = Field(default=1, ge=1, le=64)
    # Bearer tokens (`POST /api/v1/auth/token`): their lifetime and the audience they name.
    token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    token_audience: str = Field(default="crud-service", min_length=1)
    # Sign-in throttling (`app/crud/throttle.py`): failures allowed before each key is
    # blocked for a growing delay (0 turns that key off), and how long a count lasts.
    login_max_failures: int = Field(default=5, ge=0)  # one account at one address
    login_max_failures_account: int = Field(default=50, ge=0)  # one account, any address
    login_max_failures_address: int = Field(default=30, ge=0)  # one address, any account
    login_max_delay_seconds: int = Field(default=900, ge=1)
    login_failure_window_minutes: int = Field(default=60, ge=1)
    # How long a refused (429) attempt waits before it is answered: a flood of them then
    # costs a coroutine per connection, not the loop's time.
    login_refusal_delay_ms: int = Field(default=500, ge=0, le=10_000)
    # Connections per worker process: enough for the requests one worker serves at once.
    db_pool_size: int = Field(default=20, ge=1, le=500)
    db_pool_overflow: int = Field(default=10, ge=0, le=500)
    db_pool_recycle: int = Field(default=1800, ge=10)
    # How often each worker checks the stored policy revision besides PostgreSQL's
    # LISTEN/NOTIFY (on SQLite, the only way a worker learns of another's change early).
    policy_poll_seconds: float = Field(default=1.0, gt=0, le=3600)
    # How many days `policy audit prune` keeps audit entries for (None: forever; the app
    # itself never deletes one).
    audit_retention_days: int | None = Field(default=None, ge=1, le=36_500)
    # Prometheus metrics (`GET /metrics`, for a bearer token holding `metrics:read:all`);
    # off only to measure what they cost. METRICS_PORT also serves them without sign-in on
    # METRICS_HOST, a bind meant for a private network.
    metrics_enabled: bool = True
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    # `json`: one JSON object per line on standard error (production's default); `text`:
    # uvicorn's plain lines (the default elsewhere).
    log_format: Literal["json", "text"] | None = None

    @property
    def logs(self) -> str:
        """The log format in force: LOG_FORMAT, else JSON in production and text elsewhere."""
        if self.log_format is not None:
            return self.log_format
        return "json" if self.environment == "production" else "text"

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _refuse_wildcard_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin == "*":
                raise ValueError(
                    "CORS_ORIGINS cannot be '*': the API answers with credentials (the session"
                    " cookie), so any site could act as its visitors; list the origins"
                )
            if not re.fullmatch(r"https?://[^/\s*]+", origin):
                raise ValueError(
                    f"CORS_ORIGINS: {origin!r} is not an origin (scheme://host[:port], no path)"
                )
        return origins

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, proxies: list[str]) -> list[str]:
        return [proxy_network(proxy) for proxy in proxies]

    @field_validator("url_prefix")
    @classmethod
    def _normalise_prefix(cls, value: str) -> str:
        value = value.strip().strip("/")
        return f"/{value}" if value else ""

    @model_validator(mode="after")
    def _check_secret(self) -> "Settings":
        if self.secret_key == PLACEHOLDER_SECRET:
            raise ValueError(
                "SECRET_KEY is the example's placeholder: set a random one (or, in development,"
                " leave it unset)"
            )
        if self.environment == "development":
            if not self.secret_key:
                self.secret_key = development_secret()
        elif self.secret_key and len(self.secret_key.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes{MAKE_ONE}")
        return self

    def require_secret(self) -> None:
        """Refuse to serve without a key (the tools that never sign anything run without)."""
        if not self.secret_key:
            raise ConfigurationError(
                f"configuration refused: SECRET_KEY must be set (ENVIRONMENT={self.environment};"
                f" only development makes its own){MAKE_ONE}"
            )

    @property
    def sync_database_url(self) -> str:
        """Return the URL with a sync driver (psycopg 3 or sqlite3)."""
        if self.database_url:
            return with_driver(self.database_url, asynchronous=False)
        if self.postgres_host:
            auth = quote(self.postgres_user, safe="")
            if self.postgres_password:
                auth += ":" + quote(self.postgres_password, safe="")
            return (
                f"postgresql+psycopg://{auth}@{self.postgres_host}:{self.postgres_port}"
                f"/{self.postgres_db}"
            )
        return f"sqlite:///{self.sqlite_path}"

    @property
    def async_database_url(self) -> str:
        """Return the URL with an async driver (psycopg 3 or aiosqlite)."""
        return with_driver(self.sync_database_url, asynchronous=True)

    @property
    def cookie_path(self) -> str:
        """Return the path the app's cookies are scoped to: the URL prefix, or the root."""
        return self.url_prefix or "/"

    @property
    def is_sqlite(self) -> bool:
        return self.sync_database_url.startswith("sqlite")


def with_driver(url: str, *, asynchronous: bool) -> str:
    """Rewrite a plain `postgresql://` or `sqlite://` URL to name the driver the app uses."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    base = scheme.split("+", 1)[0]
    if base in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}" if asynchronous else f"sqlite://{rest}"
    raise ValueError(f"unsupported database scheme {scheme!r}: use postgresql:// or sqlite://")


def development_secret() -> str:
    """Return the development key kept in `var/secret_key`, made on first use."""
    try:
        return DEV_SECRET_FILE.read_text().strip()
    except FileNotFoundError:
        pass
    DEV_SECRET_FILE.parent.mkdir(parents=True, exist_ok=True)
    # Written aside, then linked into place: two processes starting at once keep one key.
    aside = DEV_SECRET_FILE.with_name(f".secret_key.{os.getpid()}")
    aside.write_text(secrets.token_urlsafe(48))
    aside.chmod(0o600)
    try:
        os.link(aside, DEV_SECRET_FILE)
    except FileExistsError:
        pass
    finally:
        aside.unlink()
    return DEV_SECRET_FILE.read_text().strip()


class ConfigurationError(SystemExit):
    """Settings the app refuses to start with: exits with one line saying why."""


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once; refuse unsafe ones in one line."""
    try:
        return Settings()
    except ValidationError as exc:
        reasons = "; ".join(error["msg"].removeprefix("Value error, ") for error in exc.errors())
        raise ConfigurationError(f"configuration refused: {reasons}") from None
