"""A real frame source whose images are tampered on the way out: a camera covered, knocked or fogged in a test.

It wraps any ``hardware.camera`` source through the same interface the agents read (``read``, ``status``, ``close``,
``fps``, iteration), so only the pixels change: indices, capture times and the source's own status stay real.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from hardware.camera import Frame, FrameSource, SourceStatus

Tamper = Callable[[NDArray[np.uint8], float], NDArray[np.uint8]]
"""(image, seconds since the first frame) -> the image the camera delivers instead."""


class TamperedSource:
    """``source``'s frames with ``tamper`` applied to each image (given its clip time in seconds)."""

    def __init__(self, source: FrameSource, tamper: Tamper) -> None:
        self.source = source
        self.tamper = tamper
        self.start: datetime | None = None

    @property
    def fps(self) -> float:
        return float(getattr(self.source, "fps", 0.0))

    def read(self) -> Frame | None:
        frame = self.source.read()
        if frame is None:
            return None
        self.start = self.start or frame.captured_at
        clip_s = (frame.captured_at - self.start).total_seconds()
        image = np.asarray(self.tamper(frame.image, clip_s), np.uint8)
        return Frame(image, frame.index, frame.captured_at, frame.clock_source)

    def status(self) -> SourceStatus:
        return self.source.status()

    def close(self) -> None:
        self.source.close()

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame
