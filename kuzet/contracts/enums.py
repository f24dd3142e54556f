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
    OFF = "off"
    """No lamp lit (a dark or failed head); never enforceable."""


class SignalSource(StrEnum):
    """Where a signal state came from (``ViolationEvent.signal_source``)."""

    CONTROLLER = "controller"
    CLASSIFIER = "classifier"


__all__ = ["SignalSource", "SignalState", "VehicleClass", "ViolationKind"]


class CameraHealthState(StrEnum):
    """What a camera's health monitor judges (``CameraHealthEvent.state``), most severe first in ``SEVERITY``."""

    HEALTHY = "healthy"
    OFFLINE = "offline"  # the stream is down or reconnecting
    COVERED = "covered"  # brightness and contrast collapsed: a hand, a cap, paint, a dead sensor
    FROZEN = "frozen"  # identical or near-identical frames while the stream says it is live
    DEFOCUSED = "defocused"  # sharpness far below the camera's own baseline: blur, mist, a smeared lens
    MOVED = "moved"  # the view shifted or rotated away from the reference frame stored at calibration
    CLOCK_DRIFT = "clock_drift"  # capture times disagree with the device's clock source
    THERMAL_FAULT = "thermal_fault"  # the thermal sensor is silent, stuck or out of range
    SIGNAL_MISMATCH = "signal_mismatch"  # a signal head's camera reading and controller feed disagree (no red light)


SEVERITY: tuple[CameraHealthState, ...] = (
    CameraHealthState.OFFLINE,
    CameraHealthState.COVERED,
    CameraHealthState.FROZEN,
    CameraHealthState.DEFOCUSED,
    CameraHealthState.MOVED,
    CameraHealthState.CLOCK_DRIFT,
    CameraHealthState.THERMAL_FAULT,
    CameraHealthState.SIGNAL_MISMATCH,
    CameraHealthState.HEALTHY,
)
"""Order in which a camera's active states are reported: the first active one is its ``state``."""
