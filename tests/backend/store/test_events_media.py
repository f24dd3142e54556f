"""Events with their attachment links, the media rows and files they point at, who uploaded them, and the
retention queries over them (receipt time, uncited uploads, references of every product)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from backend.db import connect, migrate
from backend.migrations import m0001_core
from backend.store import attendance, devices, events, media, retention
from backend.store.attendance import UnknownRow
from backend.store.events import AttachmentLink, EventRow
from backend.store.media import MediaRow
from tests.backend.store.conftest import camera

SHA_A, SHA_B, SHA_C = "a" * 64, "b" * 64, "c" * 64
OLD, NEW = "2026-01-01T08:00:00+00:00", "2026-03-01T08:00:00+00:00"


def _row(event_id: str, kind: str, captured_at: str, camera_id: str = "door-1") -> EventRow:
    return EventRow(event_id, kind, camera_id, captured_at, captured_at, 1, "{}")


@pytest.fixture
def stored(school: sqlite3.Connection, tmp_path: Path) -> sqlite3.Connection:
    """Media A (received OLD) and B (received NEW) from door-1 of s1, C (received OLD) from traffic camera cam-t of
    district d1 that nothing cites; an entry e1 links A, an entry e2 and a vehicle event v1 link B."""
    assert devices.insert(school, camera("cam-t", "traffic", "d1"))
    assert devices.insert(school, camera("door-9", "school", "s2"))
    for sha, at, cam in ((SHA_A, OLD, "door-1"), (SHA_B, NEW, "door-1"), (SHA_C, OLD, "cam-t")):
        media.insert(school, MediaRow(sha, "image/jpeg", 3, cam, at))
        media.insert(school, MediaRow(sha, "image/png", 9, cam, "2027-01-01T00:00:00+00:00"))  # changes nothing
        media.write_file(tmp_path / "media", sha, b"img")
    rows = [_row("e1", "entry", OLD), _row("e2", "entry", NEW), _row("v1", "vehicle", OLD, "cam-t")]
    links = [AttachmentLink("e1", SHA_A, "snapshot"), AttachmentLink("e2", SHA_B, "snapshot")]
    events.insert(school, rows, [*links, AttachmentLink("v1", SHA_B, "frame"), links[0]])
    return school


def test_insert_and_look_up(stored: sqlite3.Connection) -> None:
    assert events.count(stored) == 3
    assert events.attachment_shas(stored, "e1") == [SHA_A]  # the repeated link is stored once
    assert media.existing_shas(stored, [SHA_A, "d" * 64]) == {SHA_A}
    assert media.media_type(stored, SHA_A) == "image/jpeg"
    assert media.media_type(stored, "d" * 64) is None
    assert media.facts(stored, [SHA_A, "d" * 64]) == {SHA_A: media.StoredFacts("image/jpeg", 3)}


def test_every_uploader_is_recorded_with_its_tenant(stored: sqlite3.Connection) -> None:
    assert media.not_uploaded_by(stored, [SHA_A, SHA_B, SHA_C], "school", "s1") == {SHA_C}
    assert media.not_uploaded_by(stored, [SHA_A, SHA_C], "traffic", "d1") == {SHA_A}
    assert not media.uploaded_by(stored, SHA_A, "school", "s2")  # another school's door
    media.record_upload(stored, SHA_A, "door-9", NEW)  # door-9 sent the same bytes: now s2 may cite them too
    assert media.uploaded_by(stored, SHA_A, "school", "s2") and media.uploaded_by(stored, SHA_A, "school", "s1")
    media.record_upload(stored, SHA_A, "nobody", NEW)  # an unknown camera records nothing
    assert stored.execute("SELECT COUNT(*) FROM media_uploads WHERE sha256 = ?", (SHA_A,)).fetchone()[0] == 2


def test_a_kinds_media_by_receipt_time(stored: sqlite3.Connection) -> None:
    assert retention.media_of_kind_stored_before(stored, "school", "2025-12-31T00:00:00+00:00") == []
    assert retention.media_of_kind_stored_before(stored, "school", "2026-02-01T00:00:00+00:00") == [SHA_A]
    assert retention.media_of_kind_stored_before(stored, "school", "2026-04-01T00:00:00+00:00") == [SHA_A, SHA_B]
    assert retention.media_of_kind_stored_before(stored, "traffic", "2026-04-01T00:00:00+00:00") == [SHA_C]


def test_uncited_uploads(stored: sqlite3.Connection) -> None:
    assert retention.uncited_media_stored_before(stored, "2026-04-01T00:00:00+00:00") == [SHA_C]
    assert retention.uncited_media_stored_before(stored, "2025-12-31T00:00:00+00:00") == []
    stored.execute("DELETE FROM event_attachments WHERE event_id = 'e1'")
    assert retention.uncited_media_stored_before(stored, "2026-04-01T00:00:00+00:00") == [SHA_A, SHA_C]
    attendance.insert_unknown(stored, UnknownRow("e1", "s1", "2026-01-01", OLD, "door-1", SHA_A))
    assert retention.uncited_media_stored_before(stored, "2026-04-01T00:00:00+00:00") == [SHA_C]  # a face cites A


def test_dropping_references_of_every_product_then_deleting(stored: sqlite3.Connection, tmp_path: Path) -> None:
    attendance.insert_unknown(stored, UnknownRow("e2", "s1", "2026-03-01", NEW, "door-1", SHA_B))
    assert events.is_referenced(stored, SHA_B) and events.is_referenced(stored, SHA_B, kind="vehicle")
    assert not events.is_referenced(stored, SHA_A, kind="vehicle")
    retention.drop_media_references(stored, SHA_B)
    assert not events.is_referenced(stored, SHA_B)  # the vehicle event's link went too
    assert attendance.unknown_snapshot(stored, "s1", "e2") is None
    media.delete(stored, tmp_path / "media", SHA_B)
    assert media.media_type(stored, SHA_B) is None and media.read_media(tmp_path / "media", SHA_B) is None
    assert stored.execute("SELECT COUNT(*) FROM media_uploads WHERE sha256 = ?", (SHA_B,)).fetchone()[0] == 0
    assert media.read_media(tmp_path / "media", SHA_A) == b"img"
    assert events.count(stored) == 3  # the events stay
    events.delete(stored, "e1")
    assert not events.is_referenced(stored, SHA_A) and events.count(stored) == 2


def test_unsealed_files_until_marked(stored: sqlite3.Connection) -> None:
    assert media.unsealed(stored, 10) == []  # rows inserted now are sealed
    stored.execute("UPDATE media SET sealed = 0 WHERE sha256 IN (?, ?)", (SHA_A, SHA_C))
    assert sorted(media.unsealed(stored, 10)) == [SHA_A, SHA_C] and len(media.unsealed(stored, 1)) == 1
    media.mark_sealed(stored, SHA_A)
    assert media.unsealed(stored, 10) == [SHA_C]


def test_unknown_face_snapshot_only_for_its_own_school(stored: sqlite3.Connection) -> None:
    attendance.insert_unknown(stored, UnknownRow("e1", "s1", "2026-01-01", OLD, "door-1", SHA_A))
    assert attendance.unknown_snapshot(stored, "s1", "e1") == (SHA_A, "image/jpeg")
    assert attendance.unknown_snapshot(stored, "s2", "e1") is None  # another school's door


def test_migration_10_records_existing_uploads_and_marks_their_files_plaintext(tmp_path: Path) -> None:
    """A database from before tenancy: its media rows get their first uploader (with its tenant) and sealed = 0."""
    db = connect(tmp_path / "old.sqlite")
    try:
        db.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        m0001_core.apply(db)
        db.execute("INSERT INTO schema_migrations VALUES (1, 'm0001_core')")
        db.execute(
            "INSERT INTO devices(camera_id, kind, site, key_id, key_hash, created_at)"
            " VALUES ('door-1', 'school', 's1', 'k', 'h', ?)",
            (OLD,),
        )
        db.execute("INSERT INTO media VALUES (?, 'image/jpeg', 3, 'door-1', ?)", (SHA_A, OLD))
        assert 10 in migrate(db)
        rows = db.execute("SELECT sha256, camera_id, kind, site, uploaded_at FROM media_uploads").fetchall()
        assert rows == [(SHA_A, "door-1", "school", "s1", OLD)]
        assert media.unsealed(db.conn, 10) == [SHA_A]
    finally:
        db.conn.close()
