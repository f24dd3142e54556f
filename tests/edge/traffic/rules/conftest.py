"""A synthetic junction approach shared by the rule tests.

Image 400x400. Lanes (x ranges, full height): ``s1`` 0-100 travelling up, ``n1`` 100-200 and ``n2`` 200-300
travelling down, ``bus`` 300-400 travelling down, reserved Mon-Fri 07:00-10:00 local (+05:00).
Lines: stop line y = 250 over n1+n2 (beyond = below), solid centre line x = 100, dashed x = 200.
Signal: green from T0, amber at T0 + 10, red at T0 + 13, green at T0 + 40. T0 is Monday 08:00 local.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from edge.traffic.rules.base import PhaseChange, SignalSource, SignalState, SignalTimeline, TrackView
from edge.traffic.scene import SceneConfig

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC).timestamp()  # Monday 08:00 at UTC+5
HZ = 10.0

SCENE = SceneConfig.model_validate(
    {
        "image_size": (400, 400),
        "utc_offset_minutes": 300,
        "lanes": [
            {"id": "s1", "polygon": [(0, 0), (100, 0), (100, 400), (0, 400)], "direction_deg": -90},
            {"id": "n1", "polygon": [(100, 0), (200, 0), (200, 400), (100, 400)], "direction_deg": 90},
            {"id": "n2", "polygon": [(200, 0), (300, 0), (300, 400), (200, 400)], "direction_deg": 90},
            {
                "id": "bus",
                "polygon": [(300, 0), (400, 0), (400, 400), (300, 400)],
                "direction_deg": 90,
                "kind": "bus",
                "bus_hours": [{"start": "07:00", "end": "10:00", "weekdays": [0, 1, 2, 3, 4]}],
            },
        ],
        "lines": [
            {"id": "stop", "p1": (100, 250), "p2": (300, 250), "kind": "stop", "lanes": ["n1", "n2"]},
            {"id": "centre", "p1": (100, 0), "p2": (100, 400), "kind": "solid"},
            {"id": "lanes12", "p1": (200, 0), "p2": (200, 400), "kind": "dashed"},
        ],
    }
)

SIGNAL = SignalTimeline(
    [
        PhaseChange(T0, SignalState.GREEN),
        PhaseChange(T0 + 10, SignalState.AMBER),
        PhaseChange(T0 + 13, SignalState.RED),
        PhaseChange(T0 + 40, SignalState.GREEN),
    ],
    SignalSource.CONTROLLER,
)


def make_track(
    waypoints: list[tuple[float, float, float]],
    *,
    track_id: int = 1,
    vehicle_class: str = "car",
    confirmed: bool = True,
    speed: tuple[float, float] | None = None,
    metres_per_px: float | None = None,
) -> TrackView:
    """A track sampled at ``HZ`` along straight segments between ``(t - T0, x, y)`` waypoints."""
    times = np.array([w[0] for w in waypoints])
    t = np.arange(times[0], times[-1] + 1e-9, 1.0 / HZ)
    xy = np.stack([np.interp(t, times, [w[1] for w in waypoints]), np.interp(t, times, [w[2] for w in waypoints])])
    image_xy = xy.T
    return TrackView(
        track_id=track_id,
        vehicle_class=vehicle_class,
        confirmed=confirmed,
        t=t + T0,
        image_xy=image_xy,
        road_xy=None if metres_per_px is None else image_xy * metres_per_px,
        speed_kmh=None if speed is None else speed[0],
        speed_sigma_kmh=None if speed is None else speed[1],
        frame_index=np.arange(len(t)),
    )
