"""What every frame source shares: the frame, its source's health counters, the capture seam and the base class.

``hardware.camera`` (live cameras, read-ahead, ``open_source``) and ``hardware.video_file`` (files stamped by their
container timestamps) build on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from kuzet.contracts import ClockSource

DEFAULT_FPS = 25.0  # assumed when a source reports no usable frame rate
SourceState = Literal["connecting", "streaming", "reconnecting", "ended", "failed", "closed"]


class FrameSourceError(RuntimeError):
    """A source cannot be opened at all (missing file, bad URI)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured frame.

    Attributes:
        image: (H, W, 3) uint8 BGR pixels.
        index: running frame number of the source (0-based, keeps counting across reconnects).
        captured_at: capture time, timezone-aware UTC.
        clock_source: which clock produced ``captured_at``.
    """

    image: NDArray[np.uint8]
    index: int
    captured_at: datetime
    clock_source: ClockSource


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """Health counters of a source.

    Attributes:
        state: current state (``ended`` = file finished; ``failed`` = gave up reconnecting).
        frames: frames delivered so far.
        drops: times the stream was lost (read failure or capture closed).
        reconnects: successful re-opens after a drop.
        reconnect_attempts: open attempts made after drops (successful or not).
        last_error: the last problem, readable, or None.
        last_frame_at: capture time of the last delivered frame.
    """

    state: SourceState
    frames: int = 0
    drops: int = 0
    reconnects: int = 0
    reconnect_attempts: int = 0
    last_error: str | None = None
    last_frame_at: datetime | None = None


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` the sources use (the true external boundary)."""

    def isOpened(self) -> bool: ...  # noqa: N802 - OpenCV's name

    def read(self) -> tuple[bool, Any]: ...

    def get(self, prop_id: int) -> float: ...

    def release(self) -> None: ...


CaptureOpener = Callable[[str | int], Capture]


def open_cv_capture(uri: str | int) -> Capture:
    """Open a ``cv2.VideoCapture`` (file path, RTSP URL or USB device index)."""
    import cv2

    capture: Capture = cv2.VideoCapture(uri)
    return capture


class FrameSource(Protocol):
    """Anything that yields frames: ``read()`` returns None when there will be no more frames."""

    @property
    def fps(self) -> float:
        """Frame rate the source reports (``DEFAULT_FPS`` when it reports none)."""
        ...

    def read(self) -> Frame | None: ...

    def status(self) -> SourceStatus: ...

    def close(self) -> None: ...

    def __iter__(self) -> Iterator[Frame]: ...


def capture_fps(capture: Capture) -> float:
    """The capture's frame rate, or ``DEFAULT_FPS`` when it reports none (or nonsense)."""
    fps = float(capture.get(5))  # cv2.CAP_PROP_FPS
    return fps if 1.0 <= fps <= 1000.0 else DEFAULT_FPS


def as_bgr(raw: Any) -> NDArray[np.uint8]:
    image = np.asarray(raw, dtype=np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return image


class BaseSource:
    """Shared status bookkeeping and iteration."""

    def __init__(self) -> None:
        self._status = SourceStatus(state="connecting")

    def status(self) -> SourceStatus:
        """Current health counters."""
        return self._status

    def _update(self, **changes: Any) -> None:
        self._status = replace(self._status, **changes)

    def read(self) -> Frame | None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame
