"""Events with their attachment links, and the media rows and files they point at."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from backend.store import attendance, events, media
from backend.store.attendance import UnknownRow
from backend.store.events import AttachmentLink, EventRow
from backend.store.media import MediaRow

SHA_A, SHA_B = "a" * 64, "b" * 64


def _row(event_id: str, kind: str, captured_at: str) -> EventRow:
    return EventRow(event_id, kind, "door-1", captured_at, captured_at, 1, "{}")


@pytest.fixture
def stored(school: sqlite3.Connection, tmp_path: Path) -> sqlite3.Connection:
    """Media A and B (files too); an old entry e1 links A, a recent entry e2 and a vehicle event v1 link B."""
    for sha in (SHA_A, SHA_B):
        media.insert(school, MediaRow(sha, "image/jpeg", 3, "door-1", "t"))
        media.insert(school, MediaRow(sha, "image/png", 9, "door-1", "t"))  # a second upload changes nothing
        path = media.media_path(tmp_path / "media", sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"img")
    rows = [
        _row("e1", "entry", "2026-01-01T08:00:00+00:00"),
        _row("e2", "entry", "2026-03-01T08:00:00+00:00"),
        _row("v1", "vehicle", "2026-01-01T08:00:00+00:00"),
    ]
    links = [AttachmentLink("e1", SHA_A, "snapshot"), AttachmentLink("e2", SHA_B, "snapshot")]
    events.insert(school, rows, [*links, AttachmentLink("v1", SHA_B, "frame"), links[0]])
    return school


def test_insert_and_look_up(stored: sqlite3.Connection) -> None:
    assert events.count(stored) == 3
    assert events.existing_ids(stored, ["e1", "zz", "v1"]) == {"e1", "v1"}
    assert events.attachment_shas(stored, "e1") == [SHA_A]  # the repeated link is stored once
    assert media.existing_shas(stored, [SHA_A, "c" * 64]) == {SHA_A}
    assert media.media_type(stored, SHA_A) == "image/jpeg"
    assert media.media_type(stored, "c" * 64) is None


@pytest.mark.parametrize(
    ("cutoff", "expected"),
    [
        ("2025-12-31T00:00:00+00:00", []),
        ("2026-02-01T00:00:00+00:00", [("e1", SHA_A)]),
        ("2026-04-01T00:00:00+00:00", [("e1", SHA_A), ("e2", SHA_B)]),  # never the vehicle event's frame
    ],
)
def test_entry_attachments_before_a_cutoff(
    stored: sqlite3.Connection, cutoff: str, expected: list[tuple[str, str]]
) -> None:
    assert sorted((a.event_id, a.sha256) for a in events.entry_attachments_before(stored, cutoff)) == expected


def test_unlinking_and_deleting_leave_what_is_still_referenced(stored: sqlite3.Connection, tmp_path: Path) -> None:
    events.unlink(stored, events.entry_attachments_before(stored, "2026-04-01T00:00:00+00:00"))
    assert not events.is_referenced(stored, SHA_A)
    assert events.is_referenced(stored, SHA_B)  # the vehicle event keeps it
    media.delete(stored, tmp_path / "media", SHA_A)
    assert media.media_type(stored, SHA_A) is None
    assert not media.media_path(tmp_path / "media", SHA_A).exists()
    assert media.read_media(tmp_path / "media", SHA_B) == b"img"
    events.delete(stored, "v1")
    assert not events.is_referenced(stored, SHA_B) and events.count(stored) == 2


def test_unknown_face_snapshot_until_it_is_forgotten(stored: sqlite3.Connection) -> None:
    attendance.insert_unknown(
        stored, UnknownRow("e1", "s1", "2026-01-01", "2026-01-01T08:00:00+00:00", "door-1", SHA_A)
    )
    assert attendance.unknown_snapshot(stored, "s1", "e1") == (SHA_A, "image/jpeg")
    assert attendance.unknown_snapshot(stored, "s2", "e1") is None  # another school's door
    attendance.forget_unknown_snapshots(stored, "2026-01-01T07:00:00+00:00")
    assert attendance.unknown_snapshot(stored, "s1", "e1") == (SHA_A, "image/jpeg")
    attendance.forget_unknown_snapshots(stored, "2026-01-02T00:00:00+00:00")
    assert attendance.unknown_snapshot(stored, "s1", "e1") is None
