"""Multi-object tracking: a vectorised Kalman motion model and ByteTrack-style association."""

from edge.tracking.bytetrack import ByteTracker, TrackerConfig, TrackState

__all__ = ["ByteTracker", "TrackState", "TrackerConfig"]
