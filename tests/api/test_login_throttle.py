"""Sign-in throttling: counted in the database per account at an address, per account and
per address; 429 with Retry-After and a growing delay; a success resets the account.

Clients bind their own loopback source address (127.0.0.x) to stand for different places.
"""

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import select

from app.crud.throttle import FAILURES
from tests.conftest import Backend
from tests.support.checks import db, password_checks
from tests.support.concurrency import at_once
from tests.support.database import REFUSAL_DELAY_MS

pytestmark = pytest.mark.no_server_errors

RIGHT = {"username": "demo", "password": "demo123"}
WRONG = {"username": "demo", "password": "not-the-password"}


@pytest.fixture
def at(live: Backend) -> Iterator[Callable[[str], httpx.Client]]:
    """Make API clients that connect from a given loopback address."""
    clients: list[httpx.Client] = []

    def make(address: str) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=address)
        client = httpx.Client(base_url=f"{live.base_url}/api/v1", transport=transport, timeout=30)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def sign_in(client: httpx.Client, body: dict[str, str]) -> httpx.Response:
    return client.post("/auth/login", json=body)


def wait_out(response: httpx.Response) -> None:
    time.sleep(int(response.headers["Retry-After"]) + 0.05)


def test_failures_then_429_with_a_growing_delay(at: Callable[[str], httpx.Client]) -> None:
    client = at("127.0.0.2")
    for _ in range(5):
        assert sign_in(client, WRONG).status_code == 401
    refused = sign_in(client, RIGHT)  # not even checked: the right password waits too
    assert refused.status_code == 429, refused.text
    assert refused.headers["Retry-After"] == "2"
    assert "try again in 2 seconds" in refused.json()["detail"]
    assert "session_id" not in refused.cookies
    wait_out(refused)
    assert sign_in(client, WRONG).status_code == 401  # the 6th failure: blocked for 2 s
    longer = sign_in(client, RIGHT)
    assert longer.status_code == 429
    assert longer.headers["Retry-After"] == "4"
    wait_out(longer)
    assert sign_in(client, WRONG).status_code == 401
    assert sign_in(client, WRONG).headers["Retry-After"] == "8"


def test_a_success_resets_the_account(at: Callable[[str], httpx.Client]) -> None:
    client = at("127.0.0.2")
    for _ in range(4):
        assert sign_in(client, WRONG).status_code == 401
    assert sign_in(client, RIGHT).status_code == 200
    for _ in range(4):
        assert sign_in(client, WRONG).status_code == 401
    assert sign_in(client, RIGHT).status_code == 200


def test_an_attacker_at_one_address_does_not_lock_out_the_user(
    at: Callable[[str], httpx.Client],
) -> None:
    attacker = at("127.0.0.2")
    statuses = [sign_in(attacker, WRONG).status_code for _ in range(60)]
    # After five, a wrong password is checked again only when a block (2 s, 4 s, ...) ends.
    assert statuses[:6] == [401] * 5 + [429]
    assert statuses.count(401) <= 7 and set(statuses) == {401, 429}
    assert sign_in(attacker, RIGHT).status_code == 429
    assert sign_in(at("127.0.0.3"), RIGHT).status_code == 200


def test_unknown_names_are_throttled_alike(at: Callable[[str], httpx.Client]) -> None:
    """A name no account has answers as a real one does: nothing tells them apart."""
    client = at("127.0.0.2")
    body = {"username": "nobody-here", "password": "not-the-password"}
    assert [sign_in(client, body).status_code for _ in range(6)] == [401] * 5 + [429]


def test_an_address_trying_many_accounts_is_blocked(at: Callable[[str], httpx.Client]) -> None:
    sprayer = at("127.0.0.4")
    for index in range(30):
        body = {"username": f"user{index}", "password": "not-the-password"}
        assert sign_in(sprayer, body).status_code == 401
    assert sign_in(sprayer, RIGHT).status_code == 429
    assert sign_in(at("127.0.0.5"), RIGHT).status_code == 200


def test_an_account_tried_from_many_addresses_is_blocked(
    at: Callable[[str], httpx.Client],
) -> None:
    """Ten addresses with five failures each: the account itself waits, wherever from."""
    for address in range(10, 20):
        client = at(f"127.0.0.{address}")
        for _ in range(5):
            assert sign_in(client, WRONG).status_code == 401
    refused = sign_in(at("127.0.0.30"), RIGHT)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1


def test_a_refusal_waits_before_it_answers(at: Callable[[str], httpx.Client]) -> None:
    """A flood of refused attempts is answered slowly: each waits LOGIN_REFUSAL_DELAY_MS,
    holding no database connection (`app/hooks/accounts.py: reserve_attempt`)."""
    client = at("127.0.0.2")
    for _ in range(5):
        assert sign_in(client, WRONG).status_code == 401
    started = time.monotonic()
    assert sign_in(client, RIGHT).status_code == 429
    assert time.monotonic() - started >= REFUSAL_DELAY_MS / 1000


def test_guesses_at_once_check_no_more_passwords_than_the_limit(
    at: Callable[[str], httpx.Client], live: Backend
) -> None:
    """Nineteen wrong guesses at the same moment from one address, then the right password:
    each guess is counted before its password is checked, so no more than the limit are
    checked however they interleave; the others, and the right password, wait (429)."""
    limit = live.settings.login_max_failures
    clients = [at("127.0.0.7") for _ in range(19)]
    statuses = at_once(clients, lambda client, _: sign_in(client, WRONG).status_code)
    checked = password_checks(live.settings, "demo")
    assert checked <= limit, (checked, statuses)
    assert statuses.count(401) == checked and statuses.count(429) == len(clients) - checked
    right = sign_in(at("127.0.0.7"), RIGHT)
    assert right.status_code == 429, right.text
    assert password_checks(live.settings, "demo") == checked
    wait_out(right)
    assert sign_in(at("127.0.0.7"), RIGHT).status_code == 200


def test_a_success_takes_back_only_its_own_attempt(
    at: Callable[[str], httpx.Client], live: Backend
) -> None:
    """An address past its limit, its block waited out: a right password signs in without
    blocking the address again, and leaves its last failure as it was (so the count still
    ages out an hour after the failures, however often someone there signs in)."""
    sprayer = at("127.0.0.4")
    for index in range(30):
        body = {"username": f"user{index}", "password": "not-the-password"}
        assert sign_in(sprayer, body).status_code == 401
    wait_out(sign_in(sprayer, RIGHT))
    row = select(FAILURES.c.failures, FAILURES.c.last_failed_at).where(
        FAILURES.c.key == "address:127.0.0.4"
    )
    with db(live.settings) as connection:
        before = connection.execute(row).one()
    assert sign_in(sprayer, RIGHT).status_code == 200
    assert sign_in(sprayer, {"username": "admin", "password": "admin123"}).status_code == 200
    with db(live.settings) as connection:
        after = connection.execute(row).one()
    assert tuple(after) == tuple(before)


def test_right_and_wrong_passwords_at_once_never_fail_the_server(
    at: Callable[[str], httpx.Client],
) -> None:
    """Successes clear and take back what attempts at the same moment count: the rows are
    locked in one order by every statement, so none waits for another in a circle.

    Four guesses among sixteen right passwords: every attempt is counted before its check
    and the fifth blocks, so with five guesses or more, the guesses alone could take every
    place that arrival order gives them (and no right password would be checked at all)."""
    bodies = [RIGHT, WRONG] * 4 + [RIGHT] * 12
    clients = [at("127.0.0.6") for _ in bodies]
    statuses = at_once(clients, lambda client, index: sign_in(client, bodies[index]).status_code)
    assert set(statuses) <= {200, 401, 429} and 200 in statuses, statuses
