"""Behind a real nginx under /crud/: every page, redirect, cookie, static file and API call.

nginx strips the prefix (`proxy_pass http://app/;`) and the app runs with URL_PREFIX=/crud,
so it routes unprefixed paths but writes every link, redirect and cookie path under /crud.
nginx connects from the address the app's TRUSTED_PROXIES names, so the app records the
visitor's address, as nginx saw it.
"""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.html.dom import Page
from tests.support import database, nginx, server

PREFIX = "/crud"

SITE = """
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        location /crud/ {{
            proxy_pass http://127.0.0.1:{app_port}/;
            proxy_bind {proxy};
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Prefix /crud;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header Host $host;
        }}
        location / {{ return 404; }}
    }}
"""


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app, with URL_PREFIX=/crud, on a migrated and seeded SQLite database."""
    path: Path = tmp_path_factory.mktemp("prefix") / "app.db"
    settings = database.test_settings(database_url=f"sqlite:///{path}", sqlite_path=path)
    settings = settings.model_copy(update={"url_prefix": PREFIX})
    database.migrate(settings)
    database.reset(settings)
    with server.serve(settings) as url:
        yield url


@pytest.fixture(scope="module")
def proxy_url(app_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx in the foreground, proxying /crud/ to the app; yields its base URL."""
    tmp = tmp_path_factory.mktemp("nginx")
    port = server.free_port()
    app_port = int(app_url.rsplit(":", 1)[1])
    site = SITE.format(port=port, app_port=app_port, proxy=database.PROXY)
    with nginx.running(site, tmp, port) as url:
        yield url


@pytest.fixture
def client(proxy_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=proxy_url, follow_redirects=False, timeout=30) as client:
        yield client


def local_targets(page: Page) -> list[str]:
    """Every link, form action, script and stylesheet address on the page that is a path."""
    targets = []
    for element in page.root.iter():
        for name in ("href", "action", "src", "data-delete", "data-next"):
            value = element.attrs.get(name)
            if value and not value.startswith(("http:", "https:", "#", "mailto:")):
                targets.append(value)
    return targets


def assert_all_prefixed(page: Page) -> None:
    targets = local_targets(page)
    assert targets, page.response.url
    wrong = [t for t in targets if t != PREFIX and not t.startswith(PREFIX + "/")]
    assert not wrong, (page.response.url, wrong)


def cookie_header(response: httpx.Response, name: str) -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(name + "=")]
    assert headers, (name, response.headers.get_list("set-cookie"))
    return headers[0]


def sign_in(client: httpx.Client) -> httpx.Response:
    login = client.get(f"{PREFIX}/login")
    assert login.status_code == 200
    page = Page(login)
    assert page.form(f"{PREFIX}/login")
    data = {"username": "admin", "password": "admin123", "csrf_token": page.csrf_token}
    return client.post(f"{PREFIX}/login", data=data)


def test_root_redirects_to_login_under_prefix(client: httpx.Client) -> None:
    response = client.get(f"{PREFIX}/")
    assert response.status_code == 303
    assert response.headers["location"] == f"{PREFIX}/login"


def test_login_page_links_and_cookie_under_prefix(client: httpx.Client) -> None:
    response = client.get(f"{PREFIX}/login")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = Page(response)
    assert_all_prefixed(page)
    assert page.form(f"{PREFIX}/login")
    assert "path=/crud;" in cookie_header(response, "csrf_anon").lower() + ";"


def test_sign_in_redirects_and_sets_cookie_under_prefix(client: httpx.Client) -> None:
    response = sign_in(client)
    assert response.status_code == 303, response.text[:300]
    assert response.headers["location"] == f"{PREFIX}/dashboard"
    session = cookie_header(response, "session_id").lower()
    assert "path=/crud;" in session + ";"
    assert "httponly" in session
    dashboard = client.get(response.headers["location"])
    assert dashboard.status_code == 200
    assert_all_prefixed(Page(dashboard))


def test_pages_and_form_create_through_proxy(client: httpx.Client) -> None:
    assert sign_in(client).status_code == 303
    new = client.get(f"{PREFIX}/customers/new")
    assert new.status_code == 200
    assert_all_prefixed(Page(new))
    form = Page(new).form(f"{PREFIX}/customers")
    data = form.data()
    data["name"] = ["Behind nginx"]
    created = client.post(form.action, data=data)
    assert created.status_code == 303, created.text[:500]
    location = created.headers["location"]
    assert location.removeprefix(f"{PREFIX}/customers/").isdigit(), location
    assert "path=/crud;" in cookie_header(created, "flash").lower() + ";"
    shown = client.get(location)
    assert shown.status_code == 200
    shown_page = Page(shown)
    assert_all_prefixed(shown_page)
    assert "Behind nginx" in shown_page.root.text()
    assert any("created" in flash for flash in shown_page.flashes())

    listing = client.get(f"{PREFIX}/customers")
    assert listing.status_code == 200
    page = Page(listing)
    assert_all_prefixed(page)
    assert location in local_targets(page)
    edit = client.get(f"{location}/edit")
    assert edit.status_code == 200
    assert Page(edit).form(location)

    signed_out = client.post(f"{PREFIX}/logout", data={"csrf_token": shown_page.csrf_token})
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith(f"{PREFIX}/")


def test_static_file_through_proxy(client: httpx.Client) -> None:
    response = client.get(f"{PREFIX}/static/css/app.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert client.get(f"{PREFIX}/static/js/app.js").status_code == 200


def test_api_through_proxy(client: httpx.Client) -> None:
    login = client.post(
        f"{PREFIX}/api/v1/auth/login", json={"username": "admin", "password": "admin123"}
    )
    assert login.status_code == 200, login.text
    assert "path=/crud;" in cookie_header(login, "session_id").lower() + ";"
    customers = client.get(f"{PREFIX}/api/v1/customers")
    assert customers.status_code == 200
    assert customers.headers["content-type"].startswith("application/json")
    assert customers.json()
    missing = client.get(f"{PREFIX}/api/v1/customers/999999")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/json")


def test_api_refuses_anonymous_with_json(client: httpx.Client) -> None:
    response = client.get(f"{PREFIX}/api/v1/customers")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")


def test_docs_load_openapi_under_prefix(client: httpx.Client) -> None:
    docs = client.get(f"{PREFIX}/docs")
    assert docs.status_code == 200
    assert f"'{PREFIX}/openapi.json'" in docs.text or f'"{PREFIX}/openapi.json"' in docs.text
    schema = client.get(f"{PREFIX}/openapi.json")
    assert schema.status_code == 200
    body = schema.json()
    assert body["servers"][0]["url"] == PREFIX
    assert "/api/v1/customers" in body["paths"]
    redoc = client.get(f"{PREFIX}/redoc")
    assert redoc.status_code == 200
    assert f"{PREFIX}/openapi.json" in redoc.text


def test_anonymous_page_redirects_to_login_with_local_next(client: httpx.Client) -> None:
    response = client.get(f"{PREFIX}/customers")
    assert response.status_code == 303
    assert response.headers["location"] == f"{PREFIX}/login?next=/customers"
    with_query = client.get(f"{PREFIX}/customers?q=a")
    assert with_query.headers["location"] == f"{PREFIX}/login?next=/customers%3Fq%3Da"


def test_sign_in_returns_to_next_under_prefix(client: httpx.Client) -> None:
    login = client.get(f"{PREFIX}/login?next=/customers")
    page = Page(login)
    data = page.form(f"{PREFIX}/login").data()
    data.update(username=["admin"], password=["admin123"])
    response = client.post(f"{PREFIX}/login", data=data)
    assert response.status_code == 303
    assert response.headers["location"] == f"{PREFIX}/customers"


def test_error_page_under_prefix(client: httpx.Client) -> None:
    assert sign_in(client).status_code == 303
    response = client.get(f"{PREFIX}/customers/999999")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert_all_prefixed(Page(response))


def test_nothing_outside_prefix(client: httpx.Client) -> None:
    assert client.get("/login").status_code == 404


def test_app_still_answers_directly(app_url: str) -> None:
    """Without the proxy, the unprefixed paths still route (health checks, local access)."""
    assert httpx.get(f"{app_url}/healthz", timeout=10).status_code == 200
    assert httpx.get(f"{app_url}/login", timeout=10).status_code == 200
    assert httpx.get(f"{app_url}/static/css/app.css", timeout=10).status_code == 200
    assert httpx.get(f"{app_url}/openapi.json", timeout=10).status_code == 200
    # A proxy that passes the prefix on is served too.
    assert httpx.get(f"{app_url}{PREFIX}/login", timeout=10).status_code == 200
    assert httpx.get(f"{app_url}{PREFIX}/static/css/app.css", timeout=10).status_code == 200


def test_the_visitor_address_is_the_one_nginx_saw(proxy_url: str) -> None:
    """A visitor's own X-Forwarded-For is no proof: nginx appends the peer it saw, and the
    app, trusting nginx alone, records that one."""
    visitor = httpx.HTTPTransport(local_address="127.0.0.5")
    with httpx.Client(base_url=f"{proxy_url}{PREFIX}/api/v1", transport=visitor) as client:
        forged = {"X-Forwarded-For": "203.0.113.7"}
        credentials = {"username": "demo", "password": "demo123"}
        assert client.post("/auth/login", json=credentials, headers=forged).status_code == 200
        mine = client.get("/sessions").json()["items"]
    assert [session["ip_address"] for session in mine] == ["127.0.0.5"]
