"""`LOG_FORMAT=json`: a served instance's standard error is one JSON object per line, an
access line per request (with the request id the audit log records and the caller's id),
events for what operators watch, and never a password, a token or a cookie.

A full run against a real uvicorn process: registration, a failed and a good sign-in, a
bearer token, reads, a write, a refused write, sign-out; then its log is read whole.
"""

import json
from pathlib import Path
from typing import Any

import httpx

from tests.support.instances import app_environment, init_database, instance

ACCESS_KEYS = {
    "time",
    "level",
    "request_id",
    "user_id",
    "method",
    "route",
    "status",
    "duration_ms",
    "client",
    "bytes",
}
PASSWORD = "Marigold-Lantern-71"
WRONG = "Wrong-Guess-Orchard-93"


def full_run(base: str) -> dict[str, Any]:
    """Use the service the way people do; return what a log must not hold, and what the
    test looks for in it."""
    api = httpx.Client(base_url=f"{base}/api/v1", timeout=30)
    user = {"username": "logged", "email": "logged@example.com", "password": PASSWORD}
    assert api.post("/auth/register", json=user).status_code == 201
    wrong = {"username": "logged", "password": WRONG}
    assert api.post("/auth/login", json=wrong).status_code == 401
    signed = api.post("/auth/login", json={"username": "logged", "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    cookie = api.cookies["session_id"]
    me = api.get("/auth/me").json()
    assert api.post("/roles", json={"name": "mine"}).status_code == 403  # a refused write
    assert api.post("/auth/logout").status_code == 204
    guesses = [
        api.post("/auth/login", json={"username": "nobody-here", "password": WRONG}).status_code
        for _ in range(6)
    ]
    assert guesses[-1] == 429, guesses  # throttled
    admin = api.post("/auth/token", json={"username": "admin", "password": "admin123"})
    token = admin.json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    made = api.post("/tags", json={"name": "logged tag"}, headers=bearer)
    assert made.status_code == 201, made.text
    entries = api.get("/audit", params={"event": "created", "resource": "tags"}, headers=bearer)
    (entry,) = [e for e in entries.json()["items"] if e["record_id"] == made.json()["id"]]
    assert api.get("/tasks/999999", headers=bearer).status_code == 404
    return {
        "secrets": [PASSWORD, WRONG, "admin123", token, cookie],
        "user_id": me["id"],
        "write_request_id": made.headers["x-request-id"],
        "audited_request_id": entry["request_id"],
    }


def test_json_logs_name_each_request_and_event_and_no_secret(tmp_path: Path) -> None:
    env = app_environment(f"sqlite:///{tmp_path / 'app.db'}", LOG_FORMAT="json")
    init_database(env)
    log = tmp_path / "stderr.log"
    with instance(env, log) as base:
        run = full_run(base)
    text = log.read_text()
    for secret in run["secrets"]:
        assert secret not in text, "a secret reached the log"
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    access = [line for line in lines if line.get("logger") == "app.access" and "event" not in line]
    assert access and all(line.keys() >= ACCESS_KEYS for line in access)
    by_id = {line["request_id"]: line for line in access}
    write = by_id[run["write_request_id"]]
    assert run["audited_request_id"] == run["write_request_id"]
    assert (write["method"], write["route"], write["status"]) == ("POST", "/api/v1/tags", 201)
    assert write["client"] == "127.0.0.1" and write["bytes"] > 0 and write["duration_ms"] > 0
    assert write["user_id"] is not None
    missing = [line for line in access if line["route"] == "/api/v1/tasks/{id}"]
    assert [line["status"] for line in missing] == [404]
    assert not any("999999" in json.dumps(line) for line in lines)
    mine = [line for line in access if line["user_id"] == run["user_id"]]
    assert {line["route"] for line in mine} >= {"/api/v1/auth/me", "/api/v1/roles"}
    events = {line.get("event") for line in lines}
    assert {"sign_in_failed", "sign_in_throttled", "write_denied", "policy_reloaded"} <= events
    assert all(line["level"] in ("debug", "info", "warning", "error") for line in lines)
    assert not [line for line in lines if line.get("logger") == "uvicorn.access"]
