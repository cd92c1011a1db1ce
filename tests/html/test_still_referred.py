"""A record other rows still refer to, through a foreign key that keeps it (no `ON DELETE`
action), is not deleted: 409 saying what refers to it, in the API and the pages, and the
record stays. The key here is one the app's models do not know (a table added to the
database by hand), so the database's own refusal is what is translated."""

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from app.core.database import create_sync_engine
from tests.conftest import Backend
from tests.html.conftest import Browser
from tests.html.site import assert_html, csrf_token, submit
from tests.support.records import Records


@pytest.fixture
def kept(live: Backend, records: Records) -> Iterator[dict]:
    """A customer that a row of a table outside the models still refers to."""
    customer = records.create("customers")
    engine = create_sync_engine(live.settings)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE kept_refs (id INTEGER PRIMARY KEY,"
                " customer_id INTEGER NOT NULL REFERENCES customers (id))"
            )
        )
        connection.execute(text("INSERT INTO kept_refs VALUES (1, :id)"), {"id": customer["id"]})
    try:
        yield customer
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE kept_refs"))
        engine.dispose()


def test_the_api_refuses_with_409_and_keeps_the_record(
    live: Backend, admin: httpx.Client, kept: dict
) -> None:
    response = admin.delete(f"/customers/{kept['id']}")
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert f"“{kept['name']}” cannot be deleted" in detail
    assert "still refer" in detail
    if live.name == "postgresql":  # PostgreSQL names the table; SQLite does not
        assert "kept refs" in detail
    assert admin.get(f"/customers/{kept['id']}").status_code == 200


def test_the_pages_refuse_with_a_409_page(admin_browser: Browser, kept: dict) -> None:
    url = f"/customers/{kept['id']}"
    for method, action in (("POST", f"{url}/delete"), ("DELETE", url)):
        confirmed = {"confirm": "1"} if method == "POST" else {}
        response = submit(admin_browser, action, confirmed, csrf_token(admin_browser), method)
        assert_html(response, 409)
        assert "cannot be deleted" in response.text and '"detail"' not in response.text
    assert admin_browser.get(url).status_code == 200
