"""One login system: operators are users with a district, one session cookie, one login page, one throttle, and
the backend's evidence check is the edge verifier's; plus the migration that moved operators into users."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from backend import db as backend_db
from backend.migrations import m0302_one_login
from edge.traffic.evidence_verify import verify_uploaded
from tests.backend.violations.conftest import PASSWORD, Traffic
from tests.backend.violations.evidence import make_package


def test_an_operator_logs_in_through_the_one_login_and_is_sent_to_the_queue(traffic: Traffic) -> None:
    reply = traffic.client.post("/api/v1/auth/login", json={"username": "op-a", "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    who = reply.json()
    assert (who["role"], who["district"], who["school_id"]) == ("operator", "almaty-1", None)
    assert set(reply.cookies) == {"kuzet_session"}
    assert traffic.client.get("/review").status_code == 200  # the one cookie opens the review pages
    me = traffic.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {who['token']}"}).json()
    assert (me["role"], me["user_id"]) == ("operator", who["user_id"])
    page = traffic.client.get("/review/login").text
    assert 'id="login-button"' in page and 'src="/static/login.js"' in page
    script = traffic.client.get("/static/login.js").text  # the page's script posts to the one login
    assert "/api/v1/auth/login" in script and '"/review"' in script


def test_the_operator_alias_keeps_its_shape_and_sets_the_one_cookie(traffic: Traffic) -> None:
    reply = traffic.client.post("/api/v1/operators/login", json={"username": "op-b", "password": PASSWORD})
    assert set(reply.json()) == {"operator_id", "username", "district", "token"}
    assert (reply.json()["username"], reply.json()["district"]) == ("op-b", "astana-2")
    assert set(reply.cookies) == {"kuzet_session"}
    out = traffic.client.post("/api/v1/operators/logout")
    assert out.status_code == 204
    assert traffic.client.get("/api/v1/violations", headers=traffic.auth("op-b")).status_code == 401


def test_failed_operator_logins_are_throttled(traffic: Traffic) -> None:
    wrong = {"username": "op-a", "password": "not the password"}
    limit = traffic.settings.school.login_max_failures
    codes = [traffic.client.post("/api/v1/operators/login", json=wrong).status_code for _ in range(limit)]
    assert codes == [401] * limit
    right = {"username": "op-a", "password": PASSWORD}
    assert traffic.client.post("/api/v1/operators/login", json=right).status_code == 429
    assert traffic.client.post("/api/v1/auth/login", json=right).status_code == 429


def test_a_platform_admin_is_not_an_operator(traffic: Traffic) -> None:
    admin = {"Authorization": f"Bearer {traffic.settings.admin_token}"}
    assert traffic.client.get("/api/v1/violations", headers=admin).status_code == 403
    assert traffic.client.get("/review", headers=admin, follow_redirects=False).status_code == 303


def test_operator_names_are_unique_among_all_accounts(traffic: Traffic) -> None:
    admin = {"Authorization": f"Bearer {traffic.settings.admin_token}"}
    body = {"username": "op-a", "password": PASSWORD, "district": "astana-2"}
    reply = traffic.client.post("/api/v1/operators", json=body, headers=admin)
    assert (reply.status_code, reply.json()["title"]) == (409, "User name taken")


def test_the_backend_check_is_the_edge_verifier(tmp_path: Path) -> None:
    event, media = make_package(tmp_path, "cam-a")
    by_role = {a.role: a.sha256 for a in event.attachments}
    manifest, signature = media[by_role["manifest"]], media[by_role["signature"]]
    uploaded = set(by_role.values())
    problem, public = verify_uploaded(manifest, signature, uploaded, "cam-a", None)
    assert problem == "the camera has no registered evidence key: the signer cannot be trusted" and public
    assert verify_uploaded(manifest, signature, uploaded, "cam-a", public) == (None, public)
    assert verify_uploaded(manifest, signature, uploaded, "cam-b", None)[0] == (
        "the package is from camera 'cam-a', not 'cam-b'"
    )
    assert verify_uploaded(manifest, b"zz", uploaded, "cam-a", None) == (
        "the manifest or signature is malformed (ValueError)",
        None,
    )


@pytest.fixture
def before_302(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> sqlite3.Connection:
    """A database migrated up to 301, with a school account, an operator (one decision) and both kinds of session."""
    every = backend_db._migration_modules
    monkeypatch.setattr(backend_db, "_migration_modules", lambda: [m for m in every() if int(m.VERSION) < 302])
    database = backend_db.connect(tmp_path / "k.sqlite")
    backend_db.migrate(database)
    conn = database.conn
    for sql in (
        "INSERT INTO schools(school_id, name, created_at) VALUES ('s1', 'School', 't')",
        "INSERT INTO users(user_id, username, password_hash, role, school_id, created_at)"
        " VALUES ('u1', 'aigerim', 'h1', 'staff', 's1', 't')",
        "INSERT INTO sessions VALUES ('hash-u1', 'u1', 't', '9999')",
        "INSERT INTO operators VALUES ('o1', 'op', 'h2', 'almaty-1', 't', NULL)",
        "INSERT INTO operators VALUES ('o2', 'aigerim', 'h3', 'astana-2', 't', 'gone')",
        "INSERT INTO operator_sessions VALUES ('hash-o1', 'o1', 't', '9999')",
        "INSERT INTO devices(camera_id, kind, site, key_id, key_hash, created_at)"
        " VALUES ('cam', 'traffic', 'almaty-1', 'k', 'h', 't')",
        "INSERT INTO events VALUES ('e1', 'violation', 'cam', 't', 't', 1, '{}')",
        "INSERT INTO violations(violation_id, camera_id, district, kind, vehicle_class, track_id, captured_at,"
        " clock_source, received_at, evidence_status, state, decided_by)"
        " VALUES ('e1', 'cam', 'almaty-1', 'red_light', 'car', 1, 't', 'ntp', 't', 'verified', 'confirmed', 'o1')",
    ):
        conn.execute(sql)
    monkeypatch.setattr(backend_db, "_migration_modules", every)
    assert backend_db.migrate(database)[0] == m0302_one_login.VERSION  # then the later ones
    return conn


def test_the_migration_moves_operators_and_their_sessions_into_users(before_302: sqlite3.Connection) -> None:
    conn = before_302
    rows = conn.execute("SELECT user_id, username, role, school_id, district, disabled_at FROM users ORDER BY 1")
    assert rows.fetchall() == [
        ("o1", "op", "operator", None, "almaty-1", None),
        ("o2", "aigerim@astana-2", "operator", None, "astana-2", "gone"),  # its name was a school account's
        ("u1", "aigerim", "staff", "s1", None, None),
    ]
    assert conn.execute("SELECT token_hash, user_id FROM sessions ORDER BY 1").fetchall() == [
        ("hash-o1", "o1"),
        ("hash-u1", "u1"),
    ]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not {"operators", "operator_sessions"} & tables
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE violations SET decided_by = 'nobody'")
    conn.execute("DELETE FROM users WHERE user_id = 'u1'")
    assert conn.execute("SELECT user_id FROM sessions").fetchall() == [("o1",)]
