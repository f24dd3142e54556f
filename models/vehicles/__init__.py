"""Vehicle and traffic-light detection: a YOLO-family COCO detector behind one interface."""

from models.vehicles.detector import DETECTOR_BACKENDS, DetectorBackend, VehicleDetector, VehicleDetectorConfig

__all__ = ["DETECTOR_BACKENDS", "DetectorBackend", "VehicleDetector", "VehicleDetectorConfig"]
