"""Two app instances on one PostgreSQL database behind a real nginx running deploy/nginx.conf.

The shipped site file is what runs. The test replaces only the instances' addresses, the
`listen` line and the log directory, and adds a header naming the instance that answered
(`$upstream_addr`); a replacement that finds nothing to replace fails the test, and so does
an nginx that refuses the file. nginx takes the instances in turn, so consecutive requests
are answered by one, then the other. The visitor connects from `VISITOR`; nginx connects to
the instances from 127.0.0.1, the one address their TRUSTED_PROXIES names. PostgreSQL only:
instances share sessions, the policy, the throttle and the audit log through it.
"""

import re
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import pytest

from app.core.config import PROJECT_ROOT
from tests.support import nginx
from tests.support.catalog import SERVER_URL
from tests.support.instances import customer_reads, sign_in, two_instances
from tests.support.server import free_port

pytestmark = [
    pytest.mark.skipif(not SERVER_URL, reason="TEST_DATABASE_URL is not set (PostgreSQL only)"),
    pytest.mark.xdist_group("behind_nginx"),  # one pair of instances for the module
]

SHIPPED = PROJECT_ROOT / "deploy" / "nginx.conf"
NGINX_PEER = "127.0.0.1"  # where nginx connects to the instances from
VISITOR = "127.0.0.5"
FORGED = {"X-Forwarded-For": "203.0.113.7"}  # a visitor's own header names nobody
DEMO = {"username": "demo", "password": "demo123"}
WRONG = {"username": "demo", "password": "not-the-password"}
LIMIT = 5  # LOGIN_MAX_FAILURES' default: one account at one address
CHANGES = 4
WITHIN = 1.0  # seconds for a policy change to reach the other instance


def replace_once(site: str, pattern: str, replacement: str) -> str:
    """Replace the one match of `pattern` (a multiline regex) in the shipped site."""
    changed, count = re.subn(pattern, replacement, site, flags=re.M | re.S)
    assert count == 1, f"deploy/nginx.conf: {pattern!r} matched {count} times, not once"
    return changed


def render(port: int, upstreams: list[str], logs: Path, *, prefixed: bool = False) -> str:
    """The shipped site, listening on `port`, serving through `upstreams` (host:port), its
    log in `logs`; every answer names its instance in `X-Upstream`. With `prefixed`, its
    commented `location /crud/` in place of `location /`, as the file says to do."""
    site = SHIPPED.read_text()
    for shipped, test in zip(("127.0.0.1:8001", "127.0.0.1:8002"), upstreams, strict=True):
        site = replace_once(site, rf"^( *server ){re.escape(shipped)};", rf"\g<1>{test};")
    site = replace_once(site, r"^( *listen) 80;", rf"\1 127.0.0.1:{port};")
    site = replace_once(site, r"^( *access_log )/var/log/nginx/", rf"\g<1>{logs}/")
    named = r"\1\2\n\1add_header X-Upstream $upstream_addr always;"
    site = replace_once(site, r"^( *)(server_name [^;\n]*;)$", named)
    if prefixed:
        site = replace_once(site, r"^( *)(location / \{$.*?^\1\})$", "")
        variant = re.search(r"^( *)# location /crud/ \{$.*?^\1# \}$", site, flags=re.M | re.S)
        assert variant, "deploy/nginx.conf: the commented `location /crud/` is gone"
        uncommented = re.sub(rf"^{variant[1]}# ", variant[1], variant[0], flags=re.M)
        site = site.replace(variant[0], uncommented)
    return site


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two instances on one scratch database, trusting nginx alone; yield their addresses."""
    tmp = tmp_path_factory.mktemp("instances")
    settings = {"TRUSTED_PROXIES": NGINX_PEER, "LOGIN_REFUSAL_DELAY_MS": "50"}
    with two_instances("postgresql", tmp, **settings) as (a, b):
        yield [a.removeprefix("http://"), b.removeprefix("http://")]


@contextmanager
def behind_nginx(upstreams: list[str], tmp: Path, *, prefixed: bool = False) -> Iterator[str]:
    """Run nginx on the rendered site; yield its base URL."""
    port = free_port()
    with nginx.running(render(port, upstreams, tmp, prefixed=prefixed), tmp, port) as url:
        yield url


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where nginx writes its logs (the site's own access log among them)."""
    return tmp_path_factory.mktemp("nginx")


@pytest.fixture(scope="module")
def proxy(instances: list[str], logs: Path) -> Iterator[str]:
    """nginx in front of both instances; yield its base URL."""
    with behind_nginx(instances, logs) as url:
        yield url


def visitor(proxy: str, address: str = VISITOR) -> httpx.Client:
    """An API client of the site, connecting from `address`."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=f"{proxy}/api/v1", transport=transport, timeout=30)


def signed_in(proxy: str, username: str, password: str) -> closing[httpx.Client]:
    """An API client of the site, connecting from `VISITOR`, signed in as `username`."""
    transport = httpx.HTTPTransport(local_address=VISITOR)
    return closing(sign_in(proxy, username, password, transport=transport))


def answered(response: httpx.Response) -> str:
    """The instance that answered `response` (host:port; two, had nginx tried one in vain)."""
    return response.headers["x-upstream"]


def next_to(client: httpx.Client, wanted: str) -> None:
    """Send cheap requests until the other instance has answered the last: `wanted` then
    answers the next request (nginx takes the instances in turn)."""
    for _ in range(3):
        if answered(client.get("/auth/me")) != wanted:
            return
    raise AssertionError(f"{wanted} answered every request")


def test_a_session_made_on_one_instance_is_valid_on_the_other(
    proxy: str, instances: list[str]
) -> None:
    """Signed in through whichever instance answered, the visitor is known to both."""
    with visitor(proxy) as client:
        login = client.post("/auth/login", json=DEMO)
        assert login.status_code == 200, login.text
        served = [client.get("/auth/me") for _ in range(4)]
    assert [me.status_code for me in served] == [200] * 4
    assert {me.json()["username"] for me in served} == {"demo"}
    assert {answered(me) for me in served} == set(instances)
    assert answered(login) in instances


def test_a_policy_change_through_one_instance_is_obeyed_by_the_other(
    proxy: str, instances: list[str]
) -> None:
    """Revoke and restore demo's reading of customers through each instance in turn: the
    other one enforces each change within WITHIN seconds (its periodic check is a minute
    away: only PostgreSQL's notification can tell it so soon)."""
    with (
        signed_in(proxy, "admin", "admin123") as admin,
        signed_in(proxy, "demo", "demo123") as demo,
    ):
        role, kept = customer_reads(admin)
        assert demo.get("/customers").status_code == 200
        delays = []
        for change in range(CHANGES):
            through, other = instances if change % 2 == 0 else instances[::-1]
            ids, expected = (kept, 403) if change % 2 == 0 else (role["permission_ids"], 200)
            next_to(admin, through)
            started = time.monotonic()
            response = admin.put(f"/roles/{role['id']}", json={"permission_ids": ids})
            assert response.status_code == 200, response.text
            assert answered(response) == through
            while True:
                answer = demo.get("/customers")
                assert answer.status_code in (200, 403), answer.text
                if answered(answer) == other and answer.status_code == expected:
                    break
                assert time.monotonic() - started < 10, "the other instance never obeyed"
                time.sleep(0.01)
            delays.append(time.monotonic() - started)
            # From then on both instances decide by the change.
            again = [demo.get("/customers") for _ in range(2)]
            assert {(answered(r), r.status_code) for r in again} == {
                (instance, expected) for instance in instances
            }
    assert max(delays) < WITHIN, delays


def test_failed_sign_ins_through_both_instances_add_up_to_the_limit(
    proxy: str, instances: list[str]
) -> None:
    """LIMIT failures answered by both instances block the account at this address on
    both: the right password is then refused (429) whichever instance answers."""
    with visitor(proxy, "127.0.0.6") as client:  # its own address: its own count
        failures = [client.post("/auth/login", json=WRONG) for _ in range(LIMIT)]
        refused = [client.post("/auth/login", json=DEMO) for _ in range(2)]
    assert [r.status_code for r in failures] == [401] * LIMIT
    assert {answered(r) for r in failures} == set(instances)
    assert [(r.status_code, r.headers.get("retry-after")) for r in refused] == [(429, "2")] * 2
    assert {answered(r) for r in refused} == set(instances)


def test_the_audit_log_holds_both_instances_entries(
    proxy: str, instances: list[str], logs: Path
) -> None:
    """Customers created through nginx, two by each instance: each entry has the request id
    the response carried (the client's, or else nginx's, which its access log shows beside
    the instance) and the visitor's address, neither nginx's nor a forged one."""
    created: dict[int, tuple[str, str]] = {}
    with signed_in(proxy, "admin", "admin123") as admin:
        for n in range(4):
            headers = FORGED | ({"X-Request-ID": f"behind-nginx-{n}"} if n % 2 else {})
            response = admin.post("/customers", json={"name": f"Nginx {n}"}, headers=headers)
            assert response.status_code == 201, response.text
            created[response.json()["id"]] = (answered(response), response.headers["x-request-id"])
        query = {"event": "created", "resource": "customers", "limit": 200}
        entries = admin.get("/audit", params=query).json()["items"]
    assert sorted(who for who, _ in created.values()) == sorted(instances * 2)
    ids = [request_id for _, request_id in created.values()]
    assert ids[1::2] == ["behind-nginx-1", "behind-nginx-3"]
    logged = {e["record_id"]: (e["request_id"], e["address"]) for e in entries}
    assert {record: logged.get(record) for record in created} == {
        record: (request_id, VISITOR) for record, (_, request_id) in created.items()
    }
    log = logs / "crud.access.log"
    deadline = time.monotonic() + 5  # nginx writes the line once it has answered
    lines = {f"request_id={request_id} upstream={who} " for who, request_id in created.values()}
    while not all(line in log.read_text() for line in lines):
        assert time.monotonic() < deadline, (lines, log.read_text())
        time.sleep(0.05)


def test_the_prefix_variant_serves_the_app_under_its_prefix(
    instances: list[str], tmp_path: Path
) -> None:
    """The file's commented `location /crud/`, in place of `location /`: the instances
    answer under /crud/ (the prefix stripped), and nothing answers outside it."""
    with behind_nginx(instances, tmp_path, prefixed=True) as url:
        ready = [httpx.get(f"{url}/crud/readyz", timeout=10) for _ in range(2)]
        outside = httpx.get(f"{url}/readyz", timeout=10)
        bare = httpx.get(f"{url}/crud", timeout=10)
    assert [r.status_code for r in ready] == [200, 200]
    assert {answered(r) for r in ready} == set(instances)
    assert all("policy_revision" in r.json() for r in ready)
    assert outside.status_code == 404 and "x-upstream" not in outside.headers
    assert (bare.status_code, bare.headers["location"]) == (301, f"{url}/crud/")
