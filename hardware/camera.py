"""Frame sources: a video file, or a live RTSP/USB camera through OpenCV that reconnects after a drop.

Every frame carries its capture timestamp (UTC) and the clock that produced it: a live camera's frames are stamped
by the wall clock as they arrive, a file's by its container timestamps (``hardware.video_file``), never by a frame
count, so a lost frame leaves a gap in time. A live source that loses its
stream releases the capture, waits with exponential back-off, opens it again and counts the drop and the
reconnect in its ``SourceStatus`` (read by the device health endpoint), so a dead camera shows.
``open_source`` picks the source for a configured string (file path, URL or USB index); ``ReadAhead`` decodes
any source on a background thread so decoding overlaps the caller's inference (OpenCV releases the GIL).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import Field

from hardware.frames import (
    DEFAULT_FPS,
    BaseSource,
    Capture,
    CaptureOpener,
    Frame,
    FrameSource,
    FrameSourceError,
    SourceState,
    SourceStatus,
    as_bgr,
    capture_fps,
    open_cv_capture,
)
from hardware.video_file import VideoFileSource
from kuzet.config import StrictModel
from kuzet.contracts import ClockSource

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_FPS",
    "Capture",
    "CaptureOpener",
    "Frame",
    "FrameSource",
    "FrameSourceError",
    "ReadAhead",
    "SourceState",
    "SourceStatus",
    "StreamConfig",
    "StreamSource",
    "VideoFileSource",
    "open_cv_capture",
    "open_source",
]


class StreamConfig(StrictModel):
    """How a live camera is opened and re-opened after a drop."""

    uri: str = Field(min_length=1, max_length=500, description="RTSP/HTTP URL, or a USB device index as digits")
    clock_source: ClockSource = Field(default=ClockSource.NTP, description="Clock that stamps captured frames")
    backoff_initial_s: float = Field(default=0.5, ge=0.0, le=60.0, description="First wait before a reconnect")
    backoff_max_s: float = Field(default=30.0, ge=0.0, le=3600.0, description="Cap of the reconnect wait")
    max_attempts: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="Give up (state failed) after this many attempts; None = never",
    )
    failed_reads_before_drop: int = Field(
        default=3, ge=1, le=1000, description="Consecutive failed reads that count as a dropped stream"
    )


def _as_uri(uri: str) -> str | int:
    return int(uri) if uri.isdigit() else uri


class StreamSource(BaseSource):
    """A live RTSP/USB camera that reconnects with exponential back-off after a drop.

    Args:
        config: URI, clock and back-off settings.
        opener: how captures are opened (``cv2.VideoCapture`` in production; a fake in tests).
        sleep: how to wait between attempts (``time.sleep``; tests record the waits instead).
        now: the wall clock stamping frames.
    """

    def __init__(
        self,
        config: StreamConfig,
        opener: CaptureOpener = open_cv_capture,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.config = config
        self._opener = opener
        self._sleep = sleep
        self._now = now
        self._capture: Capture | None = None
        self._failed_reads = 0
        self._attempts_since_drop = 0
        self._waits = 0
        self._fps = DEFAULT_FPS

    @property
    def fps(self) -> float:
        """The camera's reported frame rate once opened (``DEFAULT_FPS`` before, or when it reports none)."""
        return self._fps

    def read(self) -> Frame | None:
        """The next frame; blocks through reconnects. None once closed or after ``max_attempts`` failures."""
        while self._status.state not in ("closed", "failed"):
            if self._capture is None and not self._open():
                continue
            assert self._capture is not None
            ok, raw = self._capture.read()
            if ok and raw is not None:
                self._failed_reads = 0
                at = self._now()
                self._update(frames=self._status.frames + 1, last_frame_at=at, state="streaming")
                return Frame(as_bgr(raw), self._status.frames - 1, at, self.config.clock_source)
            self._failed_reads += 1
            if self._failed_reads >= self.config.failed_reads_before_drop:
                self._drop(f"{self._failed_reads} consecutive failed reads")
        return None

    def _open(self) -> bool:
        """One open attempt (after the back-off wait on a retry); True when the capture is usable."""
        reconnecting = self._status.drops > 0
        if reconnecting or self._attempts_since_drop > 0:
            self._sleep(min(self.config.backoff_max_s, self.config.backoff_initial_s * 2.0**self._waits))
            self._waits += 1
        self._attempts_since_drop += 1
        if reconnecting:
            self._update(reconnect_attempts=self._status.reconnect_attempts + 1)
        capture = self._opener(_as_uri(self.config.uri))
        if capture.isOpened():
            self._capture = capture
            self._fps = capture_fps(capture)
            self._attempts_since_drop = self._waits = self._failed_reads = 0
            if reconnecting:
                self._update(reconnects=self._status.reconnects + 1, state="streaming")
                logger.warning("camera %s reconnected (reconnect #%d)", self.config.uri, self._status.reconnects)
            return True
        capture.release()
        self._update(last_error=f"cannot open {self.config.uri}")
        limit = self.config.max_attempts
        if limit is not None and self._attempts_since_drop >= limit:
            self._update(state="failed")
            logger.error("camera %s: giving up after %d attempts", self.config.uri, self._attempts_since_drop)
        return False

    def _drop(self, reason: str) -> None:
        if self._capture is not None:
            self._capture.release()
        self._capture = None
        self._attempts_since_drop = self._waits = 0
        self._update(drops=self._status.drops + 1, state="reconnecting", last_error=reason)
        logger.warning("camera %s dropped: %s; reconnecting", self.config.uri, reason)

    def close(self) -> None:
        """Release the capture; ``read`` returns None afterwards."""
        if self._capture is not None:
            self._capture.release()
        self._capture = None
        self._update(state="closed")


def open_source(
    uri: str | Path, clock_source: ClockSource = ClockSource.NTP, start: datetime | None = None
) -> FrameSource:
    """The source a configured string names: a URL (``scheme://``) or USB index (digits) is a live camera
    (``StreamSource`` stamped by ``clock_source``, reconnecting with the default back-off); anything else is a
    video file (``hardware.video_file.VideoFileSource``: file clock, each frame at ``start`` plus its container
    timestamp).

    Raises:
        FrameSourceError: a file that is missing or cannot be decoded.
    """
    text = str(uri)
    if "://" in text or text.isdigit():
        return StreamSource(StreamConfig(uri=text, clock_source=clock_source))
    return VideoFileSource(Path(text), start=start)


class ReadAhead(BaseSource):
    """Any source read on a background thread into a small queue, so decoding overlaps the caller's work.

    A decoding error is raised by ``read`` once the frames before it are consumed. ``close``, ``max_frames`` or
    an error stops the thread and closes the wrapped source; a source that ends by itself keeps its ``ended`` or
    ``failed`` state (its status is what health reports).

    Args:
        source: the source to read ahead.
        queue_size: frames decoded ahead at most.
        max_frames: stop after this many frames (None: until the source ends).
    """

    def __init__(self, source: FrameSource, queue_size: int = 8, max_frames: int | None = None) -> None:
        super().__init__()
        self.source = source
        self.max_frames = max_frames
        self._queue: queue.Queue[Frame | None] = queue.Queue(maxsize=max(1, queue_size))
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._ended = False
        self._thread = threading.Thread(target=self._decode, name="frame-decoder", daemon=True)
        self._thread.start()

    @property
    def fps(self) -> float:
        """The wrapped source's frame rate."""
        return self.source.fps

    def _decode(self) -> None:
        delivered, ended = 0, False
        try:
            while not self._stop.is_set() and (self.max_frames is None or delivered < self.max_frames):
                frame = self.source.read()
                ended = frame is None
                if frame is None or not self._put(frame):
                    break
                delivered += 1
        except BaseException as exc:  # handed to the reader, which raises it
            self._error = exc
        finally:
            if not ended:  # stopped early: release it (a source that ended keeps its ended/failed state)
                self.source.close()
            self._put(None)

    def _put(self, item: Frame | None) -> bool:
        """Queue ``item``, waiting for room; False when the reader closed us meanwhile."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read(self) -> Frame | None:
        """The next frame; None after the last one (raises the decoder's error, if it had one)."""
        if self._ended:
            return None
        frame = self._queue.get()
        if frame is None:
            self._ended = True
            self._thread.join()
            if self._error is not None:
                raise self._error
        return frame

    def status(self) -> SourceStatus:
        """The wrapped source's health counters."""
        return self.source.status()

    def close(self) -> None:
        """Stop the decoder thread and close the wrapped source."""
        self._stop.set()
        self._thread.join()
        self._ended = True
