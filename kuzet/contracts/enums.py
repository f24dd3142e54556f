"""The closed vocabularies of the wire contract, defined once: violation kinds, vehicle classes, signal states.

Every other layer derives its lists from these enums (the rule registry, the vehicle detector's default classes,
the signal timeline), so adding a value here is the one place the wire changes. They are ``StrEnum`` s whose
values are the strings on the wire, so the JSON is exactly what a ``Literal`` of the same strings would give.
"""

from __future__ import annotations

from enum import StrEnum


class ViolationKind(StrEnum):
    """Which traffic rule fired (``ViolationEvent.violation``); one rule module per value in ``edge.traffic.rules``."""

    SPEEDING = "speeding"
    RED_LIGHT = "red_light"
    STOP_LINE = "stop_line"
    SOLID_LINE = "solid_line"
    WRONG_WAY = "wrong_way"
    BUS_LANE = "bus_lane"


class VehicleClass(StrEnum):
    """Vehicle classes the traffic pipeline tracks (``VehicleEvent.vehicle_class``); values are COCO names."""

    CAR = "car"
    BUS = "bus"
    TRUCK = "truck"
    MOTORCYCLE = "motorcycle"


class SignalState(StrEnum):
    """Aspect shown by the signal head (``ViolationEvent.signal_state``)."""

    RED = "red"
    AMBER = "amber"
    GREEN = "green"
    UNKNOWN = "unknown"


class SignalSource(StrEnum):
    """Where a signal state came from (``ViolationEvent.signal_source``)."""

    CONTROLLER = "controller"
    CLASSIFIER = "classifier"


__all__ = ["SignalSource", "SignalState", "VehicleClass", "ViolationKind"]
