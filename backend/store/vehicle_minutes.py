"""Per-camera per-minute vehicle aggregates (``vehicle_minutes``) and stream consumers' marks (``broker_offsets``).

Written by ``backend.broker.aggregator`` in one transaction per fetched batch: the folded minutes are added to the
stored ones and the consumer's mark moves to the batch's last stream sequence.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(slots=True)
class Minute:
    """Vehicles of one camera in one UTC minute (``minute``: ``YYYY-MM-DDTHH:MM``) and their speed statistics."""

    camera_id: str
    minute: str
    vehicles: int = 0
    with_speed: int = 0
    speed_sum: float = 0.0
    speed_sq_sum: float = 0.0
    speed_min: float | None = None
    speed_max: float | None = None

    def add(self, speed_kmh: float | None) -> None:
        """Count one vehicle (and its speed, when measured)."""
        self.vehicles += 1
        if speed_kmh is None:
            return
        self.with_speed += 1
        self.speed_sum += speed_kmh
        self.speed_sq_sum += speed_kmh * speed_kmh
        self.speed_min = speed_kmh if self.speed_min is None else min(self.speed_min, speed_kmh)
        self.speed_max = speed_kmh if self.speed_max is None else max(self.speed_max, speed_kmh)

    @property
    def speed_mean(self) -> float | None:
        """Mean measured speed, km/h."""
        return self.speed_sum / self.with_speed if self.with_speed else None


_UPSERT = (
    "INSERT INTO vehicle_minutes(camera_id, minute, vehicles, with_speed, speed_sum, speed_sq_sum, speed_min,"
    " speed_max) VALUES (:camera_id, :minute, :vehicles, :with_speed, :speed_sum, :speed_sq_sum, :speed_min,"
    " :speed_max) ON CONFLICT (camera_id, minute) DO UPDATE SET"
    " vehicles = vehicle_minutes.vehicles + excluded.vehicles,"
    " with_speed = vehicle_minutes.with_speed + excluded.with_speed,"
    " speed_sum = vehicle_minutes.speed_sum + excluded.speed_sum,"
    " speed_sq_sum = vehicle_minutes.speed_sq_sum + excluded.speed_sq_sum,"
    " speed_min = CASE WHEN vehicle_minutes.speed_min IS NULL OR excluded.speed_min < vehicle_minutes.speed_min"
    " THEN excluded.speed_min ELSE vehicle_minutes.speed_min END,"
    " speed_max = CASE WHEN vehicle_minutes.speed_max IS NULL OR excluded.speed_max > vehicle_minutes.speed_max"
    " THEN excluded.speed_max ELSE vehicle_minutes.speed_max END"
)


def add_minutes(conn: sqlite3.Connection, minutes: Sequence[Minute]) -> None:
    """Add folded minutes to the stored ones, inside the caller's transaction."""
    conn.executemany(
        _UPSERT,
        [
            {"camera_id": m.camera_id, "minute": m.minute, "vehicles": m.vehicles, "with_speed": m.with_speed,
             "speed_sum": m.speed_sum, "speed_sq_sum": m.speed_sq_sum, "speed_min": m.speed_min,
             "speed_max": m.speed_max}
            for m in minutes
        ],
    )  # fmt: skip


def mark(conn: sqlite3.Connection, consumer: str) -> int:
    """The last stream sequence ``consumer`` committed (0 before its first batch)."""
    row = conn.execute("SELECT stream_seq FROM broker_offsets WHERE consumer = :c", {"c": consumer}).fetchone()
    return 0 if row is None else int(row[0])


def set_mark(conn: sqlite3.Connection, consumer: str, stream_seq: int, at: str) -> None:
    """Move ``consumer``'s mark to ``stream_seq`` inside the caller's transaction."""
    conn.execute(
        "INSERT INTO broker_offsets(consumer, stream_seq, updated_at) VALUES (:c, :seq, :at)"
        " ON CONFLICT (consumer) DO UPDATE SET stream_seq = excluded.stream_seq, updated_at = excluded.updated_at",
        {"c": consumer, "seq": stream_seq, "at": at},
    )


def minutes(conn: sqlite3.Connection, camera_id: str | None = None) -> list[Minute]:
    """Stored minutes, of one camera or all, in (camera, minute) order."""
    where, params = ("WHERE camera_id = :camera_id", {"camera_id": camera_id}) if camera_id else ("", {})
    rows = conn.execute(
        "SELECT camera_id, minute, vehicles, with_speed, speed_sum, speed_sq_sum, speed_min, speed_max"
        f" FROM vehicle_minutes {where} ORDER BY camera_id, minute",
        params,
    ).fetchall()
    return [Minute(r[0], r[1], int(r[2]), int(r[3]), float(r[4]), float(r[5]), r[6], r[7]) for r in rows]


def total_vehicles(conn: sqlite3.Connection) -> int:
    """Vehicles counted over every camera and minute."""
    return int(conn.execute("SELECT COALESCE(SUM(vehicles), 0) FROM vehicle_minutes").fetchone()[0])
