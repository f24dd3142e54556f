"""Wire contract: frozen, versioned, UTC, strict."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

from kuzet.contracts import SCHEMA_VERSION, Event, EventBatch, VehicleEvent
from tests.support.events import entry


def test_events_are_frozen_and_versioned() -> None:
    event = entry()
    assert event.schema_version == SCHEMA_VERSION
    with pytest.raises(ValidationError, match="frozen"):
        event.pupil_id = "someone-else"  # type: ignore[misc]


def test_capture_time_is_normalised_to_utc() -> None:
    almaty = timezone(timedelta(hours=5))
    event = entry(captured_at=datetime(2026, 9, 1, 7, 52, tzinfo=almaty))
    assert event.captured_at == datetime(2026, 9, 1, 2, 52, tzinfo=UTC)
    assert event.captured_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("captured_at", datetime(2026, 9, 1, 7, 52)),
        ("temperature_c", 0.0),
        ("camera_id", "door 1; drop table"),
        ("schema_version", 2),
        ("direction", "sideways"),
        ("attachments", [{"sha256": "XYZ", "media_type": "image/jpeg", "role": "snapshot", "size_bytes": 1}]),
    ],
)
def test_invalid_fields_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        entry(**{field: value})


def test_round_trip_through_the_discriminated_union() -> None:
    vehicle = VehicleEvent(
        event_id=uuid.uuid4(),
        camera_id="road-7",
        captured_at=datetime.now(UTC),
        clock_source="gps",
        track_id=3,
        vehicle_class="bus",
        first_seen=datetime.now(UTC),
        last_seen=datetime.now(UTC),
        speed_kmh=42.0,
        path_m=((0.0, 0.0), (1.0, 5.0)),
    )
    batch = EventBatch(events=(entry(), vehicle))
    again = EventBatch.model_validate_json(batch.model_dump_json())
    assert again == batch
    assert isinstance(TypeAdapter(Event).validate_python(vehicle.model_dump()), VehicleEvent)


def test_shared_enums_carry_the_wire_strings() -> None:
    from kuzet.contracts import SignalSource, SignalState, VehicleClass, ViolationKind

    assert [k.value for k in ViolationKind] == [
        "speeding",
        "red_light",
        "stop_line",
        "solid_line",
        "wrong_way",
        "bus_lane",
    ]
    assert [c.value for c in VehicleClass] == ["car", "bus", "truck", "motorcycle"]
    assert [s.value for s in SignalState] == ["red", "amber", "green", "unknown", "off"]
    assert [s.value for s in SignalSource] == ["controller", "classifier"]


def test_contract_depends_on_pydantic_only() -> None:
    import ast
    from pathlib import Path

    import kuzet.contracts

    allowed = {"__future__", "datetime", "enum", "typing", "uuid", "pydantic", "kuzet"}
    for path in Path(kuzet.contracts.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] in allowed, (path.name, node.module)
                if node.module.startswith("kuzet"):
                    assert node.module.startswith("kuzet.contracts"), (path.name, node.module)
            elif isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] in allowed - {"kuzet"} for a in node.names), path.name
