"""Test input: a synthetic Kazakhstan plate (``models.plates.synth``) pasted onto real vehicles of the bundled clip.

The clip is 640x352, so its real plates are ~15-25 px wide: unreadable by any reader. To test the plate path end to
end on real vehicle pixels, a rendered KZ plate is pasted where a plate sits (centred, a little above the bottom of
the vehicle box) at a realistic size: a 0.52 m plate on a ~1.8 m wide car is ~0.3 of the box width.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.traffic.plates_stage import PlateStage
from models.detections import Detections
from models.plates import synth

PLATE_TEXT = "123ABC02"
WIDTH_FRACTION = 0.33  # plate width / vehicle box width
MIN_PLATE_WIDTH = 60  # boxes whose plate would be narrower get none (too far away to paste believably)


def paste_plates(
    frame: NDArray[np.uint8], xyxy: NDArray[np.float32], text: str = PLATE_TEXT, fraction: float = WIDTH_FRACTION
) -> NDArray[np.uint8]:
    """A copy of ``frame`` with the plate ``text`` (``fraction`` of the box width) pasted on every (N, 4) vehicle
    box wide enough for it."""
    out = frame.copy()
    plate = synth.render(text)
    height, width = out.shape[:2]
    for x1, y1, x2, y2 in np.round(xyxy).astype(int).tolist():
        pw = int((x2 - x1) * fraction)
        ph = round(pw * plate.shape[0] / plate.shape[1])
        cx, bottom = (x1 + x2) // 2, y2 - int((y2 - y1) * 0.08)
        left, top = cx - pw // 2, bottom - ph
        if pw < MIN_PLATE_WIDTH or left < 0 or top < 0 or left + pw > width or bottom > height:
            continue
        out[top:bottom, left : left + pw] = cv2.resize(plate, (pw, ph), interpolation=cv2.INTER_AREA)
    return out


class PastingPlateStage(PlateStage):
    """The real plate stage, seeing each frame with the synthetic plate pasted on the measured vehicles."""

    def observe(self, frame: NDArray[np.uint8], tracked: Detections, frame_index: int) -> None:
        super().observe(paste_plates(frame, tracked.xyxy), tracked, frame_index)
