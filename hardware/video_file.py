"""A video file as a frame source, each frame stamped with its container timestamp (PTS), not its index.

After each decoded frame OpenCV's FFmpeg backend reports that frame's presentation time
(``CAP_PROP_POS_MSEC``); the frame's capture time is ``start`` plus it. A file recorded with lost frames or at a
variable rate therefore keeps its gaps, and speeds computed from the times stay right. When a container reports
no usable timestamp (none, or one that does not advance), the frame is placed one nominal period after the previous
one and counted in ``pts_fallbacks`` (logged once), so that case is visible rather than silent.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hardware.frames import BaseSource, CaptureOpener, Frame, FrameSourceError, as_bgr, capture_fps, open_cv_capture
from kuzet.contracts import ClockSource

logger = logging.getLogger(__name__)

POS_MSEC = 0  # cv2.CAP_PROP_POS_MSEC


class VideoFileSource(BaseSource):
    """Frames of a video file stamped ``start`` + the frame's container timestamp.

    Args:
        path: the video file.
        start: capture time of the file's time zero (defaults to the file's modification time).
        opener: how captures are opened (``cv2.VideoCapture`` in production).

    Raises:
        FrameSourceError: the file is missing or cannot be decoded.
    """

    def __init__(self, path: Path, start: datetime | None = None, opener: CaptureOpener = open_cv_capture) -> None:
        super().__init__()
        self.path = path
        if not path.is_file():
            raise FrameSourceError(f"cannot open video source {str(path)!r}: the file does not exist")
        self._capture = opener(str(path))
        if not self._capture.isOpened():
            raise FrameSourceError(f"cannot open video source {str(path)!r}: cannot decode the file")
        self._fps = capture_fps(self._capture)
        self.start = start if start is not None else datetime.fromtimestamp(path.stat().st_mtime, UTC)
        self._last_s: float | None = None
        self.pts_fallbacks = 0
        self._update(state="streaming")

    def _timestamp_s(self) -> float:
        """Seconds from the file's time zero of the frame just decoded (its PTS, or the fallback)."""
        pts = float(self._capture.get(POS_MSEC)) / 1000.0
        last = self._last_s
        if math.isfinite(pts) and pts >= 0.0 and (last is None or pts > last):
            return pts
        self.pts_fallbacks += 1
        if self.pts_fallbacks == 1:
            logger.warning(
                "%s: no usable container timestamp; frames placed at the nominal %.2f fps", self.path, self.fps
            )
        return 0.0 if last is None else last + 1.0 / self.fps

    def read(self) -> Frame | None:
        """The next frame, or None at the end of the file (state becomes ``ended``)."""
        if self._status.state in ("ended", "closed"):
            return None
        ok, raw = self._capture.read()
        if not ok or raw is None:
            self._capture.release()
            self._update(state="ended")
            logger.info("video file %s ended after %d frames", self.path, self._status.frames)
            return None
        index = self._status.frames
        self._last_s = self._timestamp_s()
        at = self.start + timedelta(seconds=self._last_s)
        self._update(frames=index + 1, last_frame_at=at)
        return Frame(as_bgr(raw), index, at, ClockSource.FILE)

    @property
    def fps(self) -> float:
        """The file's nominal frame rate (``DEFAULT_FPS`` when it reports none)."""
        return self._fps

    def close(self) -> None:
        """Release the file."""
        self._capture.release()
        self._update(state="closed")
