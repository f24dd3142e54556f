"""Vehicle and traffic-light detection: a YOLO-family COCO detector behind one interface."""

from models.vehicles.detector import (
    VEHICLE_DETECTORS,
    DetectorBackend,
    VehicleDetector,
    VehicleDetectorConfig,
    build_vehicle_detector,
)

__all__ = [
    "VEHICLE_DETECTORS",
    "DetectorBackend",
    "VehicleDetector",
    "VehicleDetectorConfig",
    "build_vehicle_detector",
]
