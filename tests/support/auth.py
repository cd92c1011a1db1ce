"""Helpers for the auth tests: registration, the session cookie, session rows in the database."""

from typing import Any

import httpx
from sqlalchemy import select

from app.models import LoginSession as SessionRow
from app.models import User
from tests.conftest import Backend
from tests.support.checks import db
from tests.support.factories import unique


def register(client: httpx.Client, **fields: Any) -> httpx.Response:
    """Register with valid defaults, overridden by `fields`."""
    name = unique("reg")
    body = {"username": name, "email": f"{name}@example.com", "password": "tidal-parsnip-42"}
    return client.post("/auth/register", json=body | fields)


def token_of(client: httpx.Client) -> str:
    """Return the session cookie the client holds."""
    token = client.cookies.get("session_id")
    assert token, "no session cookie"
    return token


def me_with(client: httpx.Client, cookie: str) -> httpx.Response:
    """Call /auth/me sending exactly `cookie` as the Cookie header."""
    return client.get("/auth/me", headers={"Cookie": cookie})


def sessions_of(live: Backend, username: str) -> list[Any]:
    """Return the session rows of `username`, straight from the database."""
    with db(live.settings) as connection:
        return list(
            connection.execute(
                select(SessionRow)
                .join(User, User.id == SessionRow.user_id)
                .where(User.username == username)
                .order_by(SessionRow.id)
            )
        )
