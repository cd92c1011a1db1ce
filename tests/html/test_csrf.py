"""CSRF: every state-changing page route needs this session's token, and changes nothing without.

A route walk proves that every such route depends on `require_csrf`; then each route is
sent a missing, empty, wrong and another visitor's token (403, database unchanged) and
finally the right one (the change happens). How a token lives and dies with its session:
`test_csrf_tokens.py`.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.api.csrf import require_csrf
from app.resources import RESOURCES
from tests.conftest import Backend
from tests.html.conftest import Browser
from tests.html.routes import STATE_CHANGING, calls, html_routes
from tests.html.site import (
    assert_html,
    csrf_token,
    dump,
    fill_new,
    location,
    page,
    sign_in,
    submit,
)
from tests.support.factories import unique
from tests.support.records import CHANGES, Records


@dataclass(frozen=True)
class Case:
    """One state-changing route of the pages: its method and path template."""

    method: str
    template: str
    kind: str  # create update delete matrix member-add member-remove login register logout ...
    path: str | None = None  # the resource, for the resource routes

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def cases() -> list[Case]:
    """Return every state-changing route the pages should have, from the registry."""
    found = [
        Case("POST", "/login", "login"),
        Case("POST", "/register", "register"),
        Case("POST", "/logout", "logout"),
        Case("POST", "/roles/{id}/permissions", "matrix", "roles"),
        Case("POST", "/sessions/revoke-others", "revoke-others", "sessions"),
    ]
    for res in RESOURCES:
        if res.create_schema is not None:
            found.append(Case("POST", f"/{res.path}", "create", res.path))
        if res.update_schema is not None:
            found.append(Case("POST", f"/{res.path}/{{id}}", "update", res.path))
        found.append(Case("DELETE", f"/{res.path}/{{id}}", "delete", res.path))
        found.append(Case("POST", f"/{res.path}/{{id}}/delete", "delete", res.path))
        found.append(Case("POST", f"/{res.path}/bulk-delete", "bulk-delete", res.path))
        if res.members is not None:
            found.append(Case("POST", f"/{res.path}/{{id}}/members", "member-add", res.path))
            remove = f"/{res.path}/{{id}}/members/{{member_id}}/remove"
            found.append(Case("POST", remove, "member-remove", res.path))
    return found


CASES = cases()


def test_every_state_changing_page_route_requires_the_csrf_dependency(tmp_path: Path) -> None:
    """Walk the served routes: every POST/PUT/PATCH/DELETE page depends on `require_csrf`."""
    routes = html_routes(tmp_path)
    changing = [r for r in routes if r.method in STATE_CHANGING]
    assert len(changing) >= len(CASES), "the walk missed routes of the included routers"
    unprotected = [
        f"{r.method} {r.path}"
        for r in changing
        if r.dependant is None or require_csrf not in set(calls(r.dependant))
    ]
    assert not unprotected, f"state-changing routes without require_csrf: {unprotected}"


def test_every_state_changing_page_route_is_tried_below(tmp_path: Path) -> None:
    """Try below exactly the state-changing routes the app serves, no more, no fewer."""
    served = {(r.method, r.path) for r in html_routes(tmp_path) if r.method in STATE_CHANGING}
    tried = {(case.method, case.template) for case in CASES}
    assert served == tried


@dataclass
class Attempt:
    """A prepared state-changing request, and the check that the right token made it work."""

    method: str
    url: str
    data: dict[str, Any]
    victim: Browser
    right: str
    others: dict[str, str]  # label -> a token valid for someone else
    effect: Callable[[httpx.Response], None] = field(repr=False)


@dataclass
class World:
    """The test's server, API client and records, and browsers shared by its attempts."""

    live: Backend
    browsers: Callable[[], Browser]
    admin: httpx.Client
    records: Records
    _admins: list[Browser] = field(default_factory=list)
    _anonymous: list[str] = field(default_factory=list)

    def admin_browser(self, which: int) -> Browser:
        """Return admin's browser number `which`: each is a login session of its own."""
        while len(self._admins) <= which:
            browser = self.browsers()
            assert location(sign_in(browser, "admin", "admin123")) == "/dashboard"
            self._admins.append(browser)
        return self._admins[which]

    def anonymous_token(self) -> str:
        if not self._anonymous:
            self._anonymous.append(csrf_token(self.browsers(), "/login"))
        return self._anonymous[0]


def _target(world: World, path: str) -> dict[str, Any]:
    """Return a record to change or delete: a new one, or for sessions demo's login."""
    if path != "sessions":
        return world.records.create(path)
    client = httpx.Client(base_url=f"{world.live.base_url}/api/v1")
    try:
        response = client.post("/auth/login", json={"username": "demo", "password": "demo123"})
        assert response.status_code == 200, response.text
        demo_id = response.json()["id"]
    finally:
        client.close()
    found = world.admin.get("/sessions", params={"user_id": demo_id}).json()["items"]
    return max(found, key=lambda row: row["id"])  # the login just made


def prepare(case: Case, world: World) -> Attempt:
    """Set up what `case` changes and the browsers that try it."""
    admin_api = world.admin
    if case.kind in ("login", "register"):
        victim = world.browsers()
        right = csrf_token(victim, f"/{case.kind}")
        others = {
            "another visitor's": world.anonymous_token(),
            "a signed-in session's": csrf_token(world.admin_browser(0)),
        }
        if case.kind == "login":
            data: dict[str, Any] = {"username": "demo", "password": "demo123"}

            def effect(response: httpx.Response) -> None:
                assert location(response) == "/dashboard"
                assert victim.cookies.get("session_id")
                assert page(victim, "/dashboard").root.find("strong").text() == "demo"

        else:
            name = unique("csrf")
            data = {
                "username": name,
                "email": f"{name}@example.com",
                "password": "tidal-parsnip-42",
            }

            def effect(response: httpx.Response) -> None:
                assert location(response) == "/dashboard"
                found = admin_api.get("/users", params={"q": name}).json()
                assert [u["username"] for u in found["items"]] == [name]

        return Attempt(case.method, case.template, data, victim, right, others, effect)

    victim = world.admin_browser(0)
    right = csrf_token(victim)
    others = {
        "another session's (same user)": csrf_token(world.admin_browser(1)),
        "an anonymous visitor's": world.anonymous_token(),
    }
    path = case.path or ""
    if case.kind == "logout":

        def effect(response: httpx.Response) -> None:
            assert location(response) == "/login"
            assert location(victim.get("/dashboard")) == "/login?next=/dashboard"

        return Attempt("POST", "/logout", {}, victim, right, others, effect)

    if case.kind == "revoke-others":

        def effect(response: httpx.Response) -> None:
            assert location(response) == "/sessions"
            assert page(victim, "/sessions").root is not None  # this session lives on
            assert admin_api.get("/auth/me").status_code == 401  # admin's other one ended

        return Attempt("POST", "/sessions/revoke-others", {}, victim, right, others, effect)

    if case.kind == "matrix":
        role = admin_api.post("/roles", json={"name": unique("role")}).json()
        grant = ["tag:create:own", "tag:read:all"]

        def effect(response: httpx.Response) -> None:
            assert location(response) == f"/roles/{role['id']}"
            held = admin_api.get(f"/roles/{role['id']}").json()["permissions"]
            assert sorted(held) == grant

        url = f"/roles/{role['id']}/permissions"
        data = {"grant": grant, "confirm": "1"}  # the preview's form: the one that writes
        return Attempt("POST", url, data, victim, right, others, effect)

    if case.kind in ("member-add", "member-remove"):
        role = admin_api.post("/roles", json={"name": unique("role")}).json()
        user = world.records.create("users")
        adding = case.kind == "member-add"
        if not adding:
            admin_api.put(f"/users/{user['id']}", json={"role_ids": [role["id"]]})

        def effect(response: httpx.Response) -> None:
            assert location(response) == f"/roles/{role['id']}"
            held = admin_api.get(f"/users/{user['id']}").json()["role_ids"]
            assert held == ([role["id"]] if adding else [])

        url = f"/roles/{role['id']}/members"
        if adding:
            return Attempt(
                "POST", url, {"member_id": str(user["id"])}, victim, right, others, effect
            )
        return Attempt("POST", f"{url}/{user['id']}/remove", {}, victim, right, others, effect)

    if case.kind == "create":
        form = page(victim, f"/{path}/new").form(f"/{path}")
        data = fill_new(world.records, path, form.data())
        existing = {item["id"] for item in admin_api.get(f"/{path}").json()["items"]}

        def effect(response: httpx.Response) -> None:
            assert re.fullmatch(rf"/{path}/\d+", location(response))
            made = int(location(response).rsplit("/", 1)[1])
            assert made not in existing
            assert admin_api.get(f"/{path}/{made}").status_code == 200

        return Attempt("POST", f"/{path}", data, victim, right, others, effect)

    record = _target(world, path)
    url = f"/{path}/{record['id']}"
    if case.kind == "bulk-delete":

        def effect(response: httpx.Response) -> None:
            assert location(response) == f"/{path}"
            assert admin_api.get(url).status_code == 404

        data = {"ids": [str(record["id"])], "confirm": "1"}
        return Attempt("POST", f"/{path}/bulk-delete", data, victim, right, others, effect)
    if case.kind == "update":
        data = page(victim, f"{url}/edit").form(url).data()
        change = CHANGES[path]
        data |= {name: str(value) for name, value in change.items()}

        def effect(response: httpx.Response) -> None:
            assert location(response) == url
            stored = admin_api.get(f"/{path}/{record['id']}").json()
            assert {name: stored[name] for name in change} == change

        return Attempt("POST", url, data, victim, right, others, effect)

    def effect(response: httpx.Response) -> None:
        assert location(response) == f"/{path}"
        assert admin_api.get(f"/{path}/{record['id']}").status_code == 404

    target = url if case.method == "DELETE" else f"{url}/delete"
    confirmed = {} if case.method == "DELETE" else {"confirm": "1"}  # without script: confirmed
    return Attempt(case.method, target, confirmed, victim, right, others, effect)


def _flip(token: str) -> str:
    return token[:-1] + ("0" if token[-1] != "0" else "1")


def groups() -> list[list[Case]]:
    """Group the cases that can share browsers: a resource's routes; the others alone."""
    by_path: dict[str, list[Case]] = {}
    alone = []
    for case in CASES:
        if case.kind in ("create", "update", "delete", "bulk-delete"):
            by_path.setdefault(case.path or "", []).append(case)
        else:
            alone.append([case])
    return alone + list(by_path.values())


def _name(group: list[Case]) -> str:
    return str(group[0]) if len(group) == 1 else f"/{group[0].path} routes"


@pytest.mark.parametrize("group", groups(), ids=_name)
def test_state_change_needs_this_sessions_token(
    group: list[Case],
    live: Backend,
    browser_factory: Callable[[], Browser],
    admin: httpx.Client,
    records: Records,
) -> None:
    """Refuse a missing, empty, wrong or someone else's token with 403; accept the right one."""
    world = World(live, browser_factory, admin, records)
    attempts = [(case, prepare(case, world)) for case in group]
    before = dump(live.settings)
    for case, attempt in attempts:
        attempt.data.pop("csrf_token", None)
        for label, token in attempt.others.items():
            assert token != attempt.right, label
        bad: dict[str, str | None] = {
            "missing": None,
            "empty": "",
            "wrong": _flip(attempt.right),
            **attempt.others,
        }
        for label, token in bad.items():
            response = submit(attempt.victim, attempt.url, attempt.data, token, attempt.method)
            assert response.status_code == 403, f"{case}, {label} token: {response.status_code}"
            assert_html(response, 403)
    assert dump(live.settings) == before, "a refused request changed the database"
    for case, attempt in attempts:
        response = submit(attempt.victim, attempt.url, attempt.data, attempt.right, attempt.method)
        attempt.effect(response)
        after = dump(live.settings)
        assert after != before, f"{case} with the right token changed nothing"
        before = after


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.template in ("/login", "/tags", "/roles/{id}/permissions")],
    ids=str,
)
def test_the_token_counts_only_in_the_form_or_the_header(
    case: Case,
    live: Backend,
    browser_factory: Callable[[], Browser],
    admin: httpx.Client,
    records: Records,
) -> None:
    """Refuse the right token sent in the URL's query or in a JSON body."""
    attempt = prepare(case, World(live, browser_factory, admin, records))
    attempt.data.pop("csrf_token", None)
    victim, token = attempt.victim, attempt.right
    before = dump(live.settings)
    in_url = victim.post(attempt.url, params={"csrf_token": token}, data=attempt.data)
    as_json = victim.post(attempt.url, json=attempt.data | {"csrf_token": token})
    for label, response in (("in the URL", in_url), ("in a JSON body", as_json)):
        assert response.status_code == 403, f"token {label}: {response.status_code}"
    assert dump(live.settings) == before
