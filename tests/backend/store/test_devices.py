"""The camera registry: register, rotate, revoke, list per site."""

from __future__ import annotations

import sqlite3

from backend.store import devices
from tests.backend.store.conftest import T0, camera


def test_insert_then_get_returns_the_row_without_its_key(conn: sqlite3.Connection) -> None:
    assert devices.insert(conn, camera("door-1"))
    row = devices.get(conn, "door-1")
    assert row == devices.DeviceRow("door-1", "school", "s1", "door-1 door", T0, None, None)
    assert devices.get(conn, "door-2") is None


def test_a_taken_camera_id_or_key_id_is_refused(conn: sqlite3.Connection) -> None:
    assert devices.insert(conn, camera("door-1"))
    assert not devices.insert(conn, camera("door-1", key_id="other"))
    assert not devices.insert(conn, camera("door-2", key_id="kid-door-1"))
    assert [d.camera_id for d in devices.all_devices(conn)] == ["door-1"]


def test_rotating_replaces_the_key_and_lifts_a_revocation(conn: sqlite3.Connection) -> None:
    assert devices.insert(conn, camera("cam", kind="traffic", site="d1"))
    devices.revoke(conn, "cam", "2026-03-03T00:00:00+00:00")
    devices.revoke(conn, "cam", "2026-03-04T00:00:00+00:00")
    revoked = devices.get(conn, "cam")
    assert revoked is not None and revoked.revoked_at == "2026-03-03T00:00:00+00:00"
    assert devices.upsert_key(conn, camera("cam", kind="school", site="s1", key_id="new"))
    rotated = devices.get(conn, "cam")
    assert rotated is not None and (rotated.kind, rotated.site, rotated.revoked_at) == ("school", "s1", None)
    assert conn.execute("SELECT key_id FROM devices").fetchall() == [("new",)]


def test_of_site_lists_one_kind_at_one_site_and_touch_records_the_upload(conn: sqlite3.Connection) -> None:
    for cam in (camera("b", site="s1"), camera("a", site="s1"), camera("c", site="s2"), camera("t", "traffic", "s1")):
        assert devices.insert(conn, cam)
    devices.touch(conn, "a", "2026-03-02T09:00:00+00:00")
    found = devices.of_site(conn, "school", "s1")
    assert [d.camera_id for d in found] == ["a", "b"]
    assert [d.last_seen_at for d in found] == ["2026-03-02T09:00:00+00:00", None]
