"""Watchlist: vectorised fuzzy matching and the alert event."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.traffic.watchlist import Watchlist, WatchlistConfig
from kuzet.contracts import ClockSource, PlateAlertEvent
from models.plates.text import edit_distance

LISTED = [("123ABC02", "stolen"), ("777KZX17", "wanted"), ("450XY20", "stolen"), ("A585CUO", "wanted")]


@pytest.mark.parametrize(
    ("read", "max_distance", "expected"),
    [
        ("123ABC02", 0, ["123ABC02"]),
        ("123 ABC-02", 0, ["123ABC02"]),  # separators do not matter
        ("123A8C02", 0, ["123ABC02"]),  # confusable substitution is free by default
        ("124ABC02", 0, []),
        ("124ABC02", 1, ["123ABC02"]),
        ("23ABC02", 1, ["123ABC02"]),  # a dropped character
        ("1123ABC02", 1, ["123ABC02"]),  # an extra character
        ("777KZX1", 1, ["777KZX17"]),
        ("999QQQ09", 2, []),
        ("450XY2", 1, ["450XY20"]),
    ],
)
def test_matches_within_distance(read: str, max_distance: int, expected: list[str]) -> None:
    watchlist = Watchlist(LISTED, WatchlistConfig(max_distance=max_distance))
    assert [m.plate for m in watchlist.match(read)] == expected


def test_distances_agree_with_plain_levenshtein() -> None:
    watchlist = Watchlist(LISTED, WatchlistConfig(confusable_cost=1.0))
    for read in ["123ABC02", "12ABC0", "X", "777KZX17777", "A585CU0"]:
        expected = [edit_distance(read, plate) for plate, _ in LISTED]
        assert watchlist.distances(read).tolist() == expected


def test_short_and_unsure_reads_never_alert() -> None:
    watchlist = Watchlist(LISTED, WatchlistConfig(max_distance=3, min_length=4))
    assert watchlist.match("12") == []
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert watchlist.check("123ABC02", 0.2, "cam-1", now, ClockSource.NTP) is None


def test_alert_event_is_valid_wire_model() -> None:
    watchlist = Watchlist(LISTED)
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    event = watchlist.check("123A8C02", 0.93, "cam-1", now, ClockSource.NTP, track_id=7)
    assert isinstance(event, PlateAlertEvent)
    assert (event.plate_listed, event.reason, event.distance, event.track_id) == ("123ABC02", "stolen", 0, 7)
    assert PlateAlertEvent.model_validate_json(event.model_dump_json()) == event


def test_load_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("plate,reason\n123 ABC 02,stolen\n777KZX17,wanted\n")
    watchlist = Watchlist.load(WatchlistConfig(path=path))
    assert len(watchlist) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("number,why\n1,2\n")
    with pytest.raises(ValueError, match="plate,reason"):
        Watchlist.load(WatchlistConfig(path=bad))
    assert len(Watchlist.load(WatchlistConfig())) == 0


def test_large_list_is_one_vectorised_pass() -> None:
    plates = [(f"{i:03d}ABC{(i % 20) + 1:02d}", "stolen") for i in range(1000)] * 50  # 50k rows
    watchlist = Watchlist(plates, WatchlistConfig(max_distance=0))
    assert len(watchlist.match("042ABC03")) == 50
