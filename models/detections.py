"""The one columnar frame-result type.

``Detections`` holds N boxes as parallel arrays: ``xyxy`` (N, 4) float32 in pixel coordinates (x1, y1, x2, y2),
``confidence`` (N,) float32, ``class_id`` (N,) int32, ``tracker_id`` (N,) int64 (-1 = not tracked) and any number of
named extra columns in ``data`` whose first dimension is N (landmarks (N, 5, 2), embeddings (N, 128), ...).
Empty is an ordinary value: every operation works on N = 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

NO_TRACK = -1


def _frozen(array: NDArray[Any]) -> NDArray[Any]:
    out = np.ascontiguousarray(array)
    if out is array:
        out = array.copy()
    out.setflags(write=False)
    return out


@dataclass(frozen=True, slots=True)
class Detections:
    """Columnar detections of one frame. Arrays are read-only; build a new instance to change them.

    Attributes:
        xyxy: (N, 4) float32 boxes, pixels, (x1, y1, x2, y2).
        confidence: (N,) float32 scores in [0, 1].
        class_id: (N,) int32 class ids of the producing model.
        tracker_id: (N,) int64 track ids, ``NO_TRACK`` (-1) when untracked.
        data: named extra columns, each with first dimension N.
    """

    xyxy: NDArray[np.float32]
    confidence: NDArray[np.float32]
    class_id: NDArray[np.int32]
    tracker_id: NDArray[np.int64]
    data: Mapping[str, NDArray[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        n = len(xyxy)
        columns: dict[str, NDArray[Any]] = {
            "confidence": np.asarray(self.confidence, dtype=np.float32).reshape(-1),
            "class_id": np.asarray(self.class_id, dtype=np.int32).reshape(-1),
            "tracker_id": np.asarray(self.tracker_id, dtype=np.int64).reshape(-1),
        }
        for name, column in columns.items():
            if len(column) != n:
                raise ValueError(f"Detections.{name} has {len(column)} rows, xyxy has {n}")
        extra: dict[str, NDArray[Any]] = {}
        for name, value in self.data.items():
            arr = np.asarray(value)
            if arr.ndim == 0 or arr.shape[0] != n:
                raise ValueError(f"Detections.data[{name!r}] has shape {arr.shape}, expected first dimension {n}")
            extra[name] = _frozen(arr)
        object.__setattr__(self, "xyxy", _frozen(xyxy))
        for name, column in columns.items():
            object.__setattr__(self, name, _frozen(column))
        object.__setattr__(self, "data", MappingProxyType(extra))

    @classmethod
    def empty(cls, **columns: tuple[int, ...]) -> Detections:
        """An empty result; ``columns`` maps extra column names to their per-row shape, e.g. ``landmarks=(5, 2)``."""
        data = {name: np.zeros((0, *shape), dtype=np.float32) for name, shape in columns.items()}
        return cls.build(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), data=data)

    @classmethod
    def build(
        cls,
        xyxy: NDArray[Any],
        confidence: NDArray[Any],
        class_id: NDArray[Any] | None = None,
        tracker_id: NDArray[Any] | None = None,
        data: Mapping[str, NDArray[Any]] | None = None,
    ) -> Detections:
        """Build from arrays, defaulting class ids to 0 and track ids to ``NO_TRACK``."""
        n = int(np.asarray(xyxy).reshape(-1, 4).shape[0])
        return cls(
            xyxy=np.asarray(xyxy, np.float32),
            confidence=np.asarray(confidence, np.float32),
            class_id=np.zeros(n, np.int32) if class_id is None else np.asarray(class_id, np.int32),
            tracker_id=np.full(n, NO_TRACK, np.int64) if tracker_id is None else np.asarray(tracker_id, np.int64),
            data=dict(data or {}),
        )

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __getitem__(self, index: NDArray[np.bool_] | NDArray[np.integer[Any]] | slice | int) -> Detections:
        """Select rows with a boolean mask, an index array, a slice or one integer (kept as a 1-row result)."""
        if isinstance(index, int | np.integer):
            index = np.array([int(index)])
        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            tracker_id=self.tracker_id[index],
            data={name: column[index] for name, column in self.data.items()},
        )

    def with_columns(self, **columns: NDArray[Any]) -> Detections:
        """A copy with extra columns added or replaced."""
        return Detections(self.xyxy, self.confidence, self.class_id, self.tracker_id, {**self.data, **columns})

    def with_tracker_id(self, tracker_id: NDArray[Any]) -> Detections:
        """A copy with track ids set."""
        return Detections(self.xyxy, self.confidence, self.class_id, np.asarray(tracker_id), dict(self.data))

    @property
    def area(self) -> NDArray[np.float32]:
        """(N,) box areas in square pixels."""
        wh = np.clip(self.xyxy[:, 2:] - self.xyxy[:, :2], 0.0, None)
        area: NDArray[np.float32] = (wh[:, 0] * wh[:, 1]).astype(np.float32)
        return area

    @property
    def center(self) -> NDArray[np.float32]:
        """(N, 2) box centres."""
        return ((self.xyxy[:, :2] + self.xyxy[:, 2:]) / 2.0).astype(np.float32)

    @property
    def bottom_center(self) -> NDArray[np.float32]:
        """(N, 2) centres of the bottom edges (where a vehicle touches the road)."""
        return np.stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2.0, self.xyxy[:, 3]], axis=1).astype(np.float32)

    @staticmethod
    def concat(parts: list[Detections]) -> Detections:
        """Stack several results; extra columns must match across non-empty parts."""
        parts = [p for p in parts if len(p)] or parts[:1]
        if not parts:
            return Detections.empty()
        names = set(parts[0].data)
        for part in parts[1:]:
            if set(part.data) != names:
                raise ValueError(f"cannot concat Detections with columns {sorted(names)} and {sorted(part.data)}")
        return Detections(
            xyxy=np.concatenate([p.xyxy for p in parts]),
            confidence=np.concatenate([p.confidence for p in parts]),
            class_id=np.concatenate([p.class_id for p in parts]),
            tracker_id=np.concatenate([p.tracker_id for p in parts]),
            data={n: np.concatenate([p.data[n] for p in parts]) for n in names},
        )
