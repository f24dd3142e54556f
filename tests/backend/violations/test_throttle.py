"""Login throttling that holds: counted before the password is checked (parallel guesses cannot all be evaluated),
per (client, account), per client and per account, for every role and for the admin token; the owner logging in from
another client is not locked out by a stranger; passwords rehashed on login at the current cost (the production cost
on a real server: tests/backend/test_limits.py)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.services import auth
from tests.backend.violations.conftest import PASSWORD, Traffic
from tests.support.accounts import password_hash_of

WRONG = {"username": "op-a", "password": "not the password"}
RIGHT = {"username": "op-a", "password": PASSWORD}


def _from(traffic: Traffic, address: str) -> TestClient:
    """The same app, called from another network address."""
    return TestClient(traffic.client.app, client=(address, 40000))


def test_30_parallel_wrong_logins_evaluate_at_most_10(traffic: Traffic) -> None:
    def guess(i: int) -> int:
        return traffic.client.post("/api/v1/auth/login", json={**WRONG, "password": f"guess {i}"}).status_code

    with ThreadPoolExecutor(30) as pool:
        codes = Counter(pool.map(guess, range(30)))
    assert codes == {401: 10, 429: 20}, codes


def test_40_wrong_operator_logins_end_in_429_and_the_owner_elsewhere_is_not_locked_out(traffic: Traffic) -> None:
    codes = [traffic.client.post("/api/v1/operators/login", json=WRONG).status_code for _ in range(40)]
    assert codes[:10] == [401] * 10 and codes[10:] == [429] * 30
    assert traffic.client.post("/api/v1/operators/login", json=RIGHT).status_code == 429
    owner = _from(traffic, "10.0.0.7")
    assert owner.post("/api/v1/operators/login", json=RIGHT).status_code == 200
    assert owner.post("/api/v1/auth/login", json={"username": "op-b", "password": PASSWORD}).status_code == 200


def test_one_client_spraying_many_names_is_throttled(traffic: Traffic) -> None:
    school = traffic.settings.school.model_copy(update={"login_client_max_failures": 6})
    app = create_app(traffic.settings.model_copy(update={"school": school}))  # same database, a lower client limit
    sprayer = TestClient(app, client=("192.0.2.50", 40000))
    names = [{"username": f"user-{i}", "password": "wrong password"} for i in range(6)]
    assert [sprayer.post("/api/v1/auth/login", json=n).status_code for n in names] == [401] * 6
    assert sprayer.post("/api/v1/auth/login", json=RIGHT).status_code == 429
    assert TestClient(app, client=("10.0.0.8", 40000)).post("/api/v1/auth/login", json=RIGHT).status_code == 200


def test_many_clients_together_hit_the_account_limit(traffic: Traffic) -> None:
    school = traffic.settings.school.model_copy(update={"login_account_max_failures": 12})
    app = create_app(traffic.settings.model_copy(update={"school": school}))  # same database, a lower account limit
    for i in range(6):
        stranger = TestClient(app, client=(f"192.0.2.{i}", 40000))
        assert [stranger.post("/api/v1/auth/login", json=WRONG).status_code for _ in range(2)] == [401, 401]
    owner = TestClient(app, client=("10.0.0.9", 40000))
    assert owner.post("/api/v1/auth/login", json=RIGHT).status_code == 429


def test_wrong_admin_tokens_are_throttled_per_client(traffic: Traffic) -> None:
    limit = traffic.settings.school.token_max_failures
    body = {"camera_id": "cam-new", "kind": "traffic", "site": "almaty-1"}
    wrong = {"Authorization": "Bearer not-the-admin-token-0000"}
    codes = [traffic.client.post("/api/v1/devices", json=body, headers=wrong).status_code for _ in range(limit)]
    assert codes == [401] * limit
    right = {"Authorization": f"Bearer {traffic.settings.admin_token}"}
    assert traffic.client.post("/api/v1/devices", json=body, headers=right).status_code == 429
    assert traffic.client.get("/api/v1/violations", headers=right).status_code == 429
    assert _from(traffic, "10.0.0.10").post("/api/v1/devices", json=body, headers=right).status_code == 201


def test_an_older_cheaper_hash_is_replaced_at_the_next_login(traffic: Traffic, monkeypatch: pytest.MonkeyPatch) -> None:
    old = password_hash_of(traffic.settings.database, "op-a")
    assert old.startswith(f"scrypt${auth.SCRYPT_N}$")
    monkeypatch.setattr(auth, "SCRYPT_N", auth.SCRYPT_N * 2)
    assert traffic.client.post("/api/v1/auth/login", json=RIGHT).status_code == 200
    new = password_hash_of(traffic.settings.database, "op-a")
    assert new.startswith(f"scrypt${auth.SCRYPT_N}$") and new != old
    assert traffic.client.post("/api/v1/auth/login", json=RIGHT).status_code == 200
    assert password_hash_of(traffic.settings.database, "op-a") == new, "a current hash is kept"
