def test_health(anon):
    assert anon.get("/auth/me").status_code == 401


def test_demo_creates_customer(demo):
    created = demo.post("/customers", json={"name": "Acme"})
    assert created.status_code == 201, created.text
    listed = demo.get("/customers").json()
    assert [c["name"] for c in listed["items"]] == ["Acme"]
