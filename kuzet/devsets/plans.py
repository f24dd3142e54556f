"""What the ``kuzet eval health`` development set holds: one ``Spec`` per video, drawn from magnitude buckets.

``plan`` is the full set: ``per_bucket`` videos per (state, kind and magnitude bucket) of the tamper kinds below
(covered: hand, cloth, cap, partial; defocused: blur, mist; moved: shift, rotation, zoom, sudden or gradual; frozen: a
repeated, re-encoded frame), each with one tampering interval starting ``BASELINE_ROOM_S`` into its video and followed
by ``TAIL_S`` to clear, plus the untouched clips (``untouched``). ``small_plan`` is the seconds-long set the tests
evaluate; ``limits_plan`` a ladder of faint tampers around the monitor's thresholds. The renderers are in
``kuzet.devsets.tampers``; ``kuzet.devsets.health`` writes the videos and the labels. Same generator, same plan.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kuzet.devsets import tampers
from kuzet.devsets.tampers import Tamper

BASELINE_ROOM_S = (4.0, 7.0)  # a tamper starts this long into its video (the baseline takes the first 3 s)
TAIL_S = 7.0  # and the video goes on this long after it ends


@dataclass(slots=True)
class Spec:
    """One video to write: its source, length and the tampering (``state`` None: untouched)."""

    name: str
    source: str
    duration_s: float
    offset: int = 0
    state: str | None = None
    start_s: float = 0.0
    end_s: float = 0.0
    tamper: Tamper | None = None
    tag: str = ""
    detail: str = ""
    background: Tamper | None = None
    straight: bool = False  # play the source as it is, once (no ping-pong)


Maker = Callable[[np.random.Generator, float], tuple[Tamper, str]]


def _pick(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def _covered_makers() -> list[tuple[str, Maker]]:
    skin = [(55, 75, 105), (90, 120, 165), (125, 155, 205)]
    return [
        ("hand 75-95%", lambda r, m: _hand(r, _pick(r, 0.75, 0.95), skin)),
        ("hand whole view", lambda r, m: _hand(r, _pick(r, 1.1, 1.4), skin)),
        ("cloth", lambda r, m: (tampers.cloth(_colour(r), 1.0, r), "cloth over the whole view")),
        ("cloth 85-95%", lambda r, m: _cloth(r, _pick(r, 0.85, 0.95))),
        ("cap", lambda r, m: _cap(r)),
        ("partial 60-70%", lambda r, m: _partial(r, _pick(r, 0.6, 0.7))),
        ("partial 70-85%", lambda r, m: _partial(r, _pick(r, 0.7, 0.85))),
    ]


def _hand(rng: np.random.Generator, coverage: float, skin: list[tuple[int, int, int]]) -> tuple[Tamper, str]:
    tone = skin[int(rng.integers(0, len(skin)))]
    return tampers.hand(coverage, tone, rng), f"hand over {coverage:.0%} of the view, skin {tone}"


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return (int(rng.integers(20, 200)), int(rng.integers(20, 200)), int(rng.integers(20, 200)))


def _cloth(rng: np.random.Generator, coverage: float) -> tuple[Tamper, str]:
    colour = _colour(rng)
    return tampers.cloth(colour, coverage, rng), f"cloth {colour} over the top {coverage:.0%}"


def _cap(rng: np.random.Generator) -> tuple[Tamper, str]:
    level = int(rng.integers(2, 14))
    return tampers.cap(level, rng), f"lens cap, grey level {level}"


def _partial(rng: np.random.Generator, coverage: float) -> tuple[Tamper, str]:
    side = ("left", "right", "top", "bottom")[int(rng.integers(0, 4))]
    colour = _colour(rng)
    return tampers.partial(coverage, side, colour, rng), f"sticker {colour} over {coverage:.0%} from the {side}"


def _defocused_makers() -> list[tuple[str, Maker]]:
    return [
        ("blur 0.3-0.5% of width", lambda r, m: _blur(r, _pick(r, 0.003, 0.005), 0.0)),
        ("blur 0.5-1%", lambda r, m: _blur(r, _pick(r, 0.005, 0.01), 0.0)),
        ("blur 1-3%", lambda r, m: _blur(r, _pick(r, 0.01, 0.03), 0.0)),
        ("blur gradual", lambda r, m: _blur(r, _pick(r, 0.005, 0.015), _pick(r, 1.0, 2.5))),
        ("mist veil 30-45%", lambda r, m: _mist(r, _pick(r, 0.3, 0.45), 0.0)),
        ("mist veil 45-70%", lambda r, m: _mist(r, _pick(r, 0.45, 0.7), 0.0)),
        ("mist gradual", lambda r, m: _mist(r, _pick(r, 0.35, 0.6), _pick(r, 1.0, 2.5))),
    ]


def _blur(rng: np.random.Generator, sigma: float, ramp: float) -> tuple[Tamper, str]:
    return tampers.blur(sigma, ramp), f"blur sigma {sigma:.2%} of the width over {ramp:.1f} s"


def _mist(rng: np.random.Generator, veil: float, ramp: float) -> tuple[Tamper, str]:
    sigma = _pick(rng, 0.003, 0.008)
    return tampers.mist(veil, sigma, rng, ramp), f"mist veil {veil:.0%}, scatter {sigma:.2%}, over {ramp:.1f} s"


def _moved_makers() -> list[tuple[str, Maker]]:
    return [
        ("shift 2.5-4%", lambda r, m: _shift(r, _pick(r, 0.025, 0.04), 0.0)),
        ("shift 4-8%", lambda r, m: _shift(r, _pick(r, 0.04, 0.08), 0.0)),
        ("shift 8-15%", lambda r, m: _shift(r, _pick(r, 0.08, 0.15), 0.0)),
        ("shift gradual 3-6%", lambda r, m: _shift(r, _pick(r, 0.03, 0.06), _pick(r, 1.0, 2.5))),
        ("rotation 1.5-3 deg", lambda r, m: _rotate(r, _pick(r, 1.5, 3.0), 0.0)),
        ("rotation 3-8 deg", lambda r, m: _rotate(r, _pick(r, 3.0, 8.0), 0.0)),
        ("rotation gradual", lambda r, m: _rotate(r, _pick(r, 2.0, 5.0), _pick(r, 1.0, 2.5))),
        ("zoom in 6-15%", lambda r, m: _zoom(r, _pick(r, 1.06, 1.15), 0.0)),
        ("zoom out 6-12%", lambda r, m: _zoom(r, _pick(r, 0.88, 0.94), 0.0)),
    ]


def _shift(rng: np.random.Generator, frac: float, ramp: float) -> tuple[Tamper, str]:
    angle = _pick(rng, 0, 2 * math.pi)
    dx, dy = frac * math.cos(angle), frac * math.sin(angle)
    return tampers.warp(dx, dy, 0.0, 1.0, ramp), f"shift {frac:.1%} of the width at {math.degrees(angle):.0f} deg" + (
        f" over {ramp:.1f} s" if ramp else ""
    )


def _rotate(rng: np.random.Generator, degrees: float, ramp: float) -> tuple[Tamper, str]:
    signed = degrees if rng.random() < 0.5 else -degrees
    return tampers.warp(0.0, 0.0, signed, 1.0, ramp), f"rotation {signed:+.1f} deg over {ramp:.1f} s"


def _zoom(rng: np.random.Generator, zoom: float, ramp: float) -> tuple[Tamper, str]:
    return tampers.warp(0.0, 0.0, 0.0, zoom, ramp), f"zoom x{zoom:.3f}"


def _frozen_makers() -> list[tuple[str, Maker]]:
    return [
        ("freeze 4-6 s", lambda r, m: _freeze(r)),
        ("freeze 6-12 s", lambda r, m: _freeze(r)),
    ]


def _freeze(rng: np.random.Generator) -> tuple[Tamper, str]:
    low = int(rng.integers(70, 90))
    noise = _pick(rng, 0.0, 1.5)
    return tampers.freeze((low, min(97, low + 10)), noise, rng), f"freeze, JPEG {low}-{low + 10}, noise {noise:.1f}"


DURATIONS = {"covered": (3.0, 10.0), "defocused": (4.0, 10.0), "moved": (4.0, 12.0), "frozen": (4.0, 12.0)}
FREEZE_DURATIONS = {"freeze 4-6 s": (4.0, 6.0), "freeze 6-12 s": (6.0, 12.0)}


def plan(rng: np.random.Generator, names: list[str], per_bucket: int) -> list[Spec]:
    """The full set: ``per_bucket`` videos per (state, magnitude bucket), sources taken in turn, plus the
    untouched clips."""
    specs: list[Spec] = []
    tampered = [n for n in names if n != "hamilton"]
    makers = {
        "covered": _covered_makers(),
        "defocused": _defocused_makers(),
        "moved": _moved_makers(),
        "frozen": _frozen_makers(),
    }
    turn = 0
    for state, buckets in makers.items():
        for tag, make in buckets:
            for _ in range(per_bucket):
                source = tampered[turn % len(tampered)]
                turn += 1
                low, high = FREEZE_DURATIONS.get(tag, DURATIONS[state])
                start = round(_pick(rng, *BASELINE_ROOM_S), 2)
                end = round(start + _pick(rng, low, high), 2)
                tamper, detail = make(rng, end - start)
                name = f"{len(specs):03d}-{state}-{source}"
                specs.append(
                    Spec(name, source, end + TAIL_S, int(rng.integers(0, 400)), state, start, end, tamper, tag, detail)
                )
    return specs + untouched(rng, names)


def untouched(rng: np.random.Generator, names: list[str]) -> list[Spec]:
    """Untouched clips: each source as it is, with a swaying pole, with exposure dips; the whole Hamilton clip."""
    specs = [Spec("untouched-hamilton-with-cuts", "hamilton", 0.0, straight=True, detail="edited broadcast, 3 cuts")]
    for source in (n for n in names if n != "hamilton"):
        specs.append(Spec(f"untouched-{source}", source, 30.0, int(rng.integers(0, 400)), detail="as it is"))
        amplitude, period = _pick(rng, 0.003, 0.008), _pick(rng, 1.5, 4.0)
        specs.append(
            Spec(
                f"untouched-{source}-sway",
                source,
                24.0,
                int(rng.integers(0, 400)),
                background=tampers.sway(amplitude, period),
                detail=f"sway {amplitude:.1%} of the width every {period:.1f} s",
            )
        )
        depth, every = _pick(rng, 0.2, 0.4), _pick(rng, 3.0, 6.0)
        specs.append(
            Spec(
                f"untouched-{source}-exposure",
                source,
                24.0,
                int(rng.integers(0, 400)),
                background=tampers.exposure_dip(depth, every, 4.0),
                detail=f"exposure dips of {depth:.0%} every {every:.1f} s",
            )
        )
    return specs


def small_plan(rng: np.random.Generator) -> list[Spec]:
    """A few short clips of the street source: one per state and one untouched (seconds to make and evaluate)."""
    state_tamper: list[tuple[str, Tamper, str]] = [
        ("covered", tampers.cap(6, rng), "cap"),
        ("defocused", tampers.blur(0.01), "blur 1%"),
        ("moved", tampers.warp(0.05, 0.0, 0.0, 1.0), "shift 5%"),
        ("frozen", tampers.freeze((80, 90), 0.5, rng), "freeze 5 s"),
    ]
    specs = [Spec("untouched-street", "street", 10.0, 0, detail="as it is")]
    for i, (state, tamper, tag) in enumerate(state_tamper):
        specs.append(Spec(f"{i:02d}-{state}", "street", 14.0, 60 * i, state, 4.0, 9.0, tamper, tag, tag))
    return specs


def limits_plan(rng: np.random.Generator, names: list[str]) -> list[Spec]:
    """A ladder of faint tampers around the monitor's thresholds (one per magnitude and source), to find the smallest
    shift, rotation, blur, mist, cover and freeze it reports."""
    ladder: list[tuple[str, str, Tamper, float]] = []
    for frac in (0.01, 0.015, 0.02, 0.025):
        ladder.append(("moved", f"shift {frac:.1%}", tampers.warp(frac, 0.0, 0.0, 1.0), 8.0))
    for degrees in (0.75, 1.0, 1.25, 1.5):
        ladder.append(("moved", f"rotation {degrees} deg", tampers.warp(0.0, 0.0, degrees, 1.0), 8.0))
    for sigma in (0.001, 0.002, 0.003):
        ladder.append(("defocused", f"blur {sigma:.1%}", tampers.blur(sigma), 8.0))
    for veil in (0.1, 0.2, 0.3):
        ladder.append(("defocused", f"mist veil {veil:.0%}", tampers.mist(veil, 0.002, rng), 8.0))
    for coverage in (0.3, 0.4, 0.5, 0.6):
        ladder.append(("covered", f"partial {coverage:.0%}", tampers.partial(coverage, "left", (60, 70, 80), rng), 8.0))
    for seconds in (1.5, 2.0, 2.5, 3.0):
        ladder.append(("frozen", f"freeze {seconds} s", tampers.freeze((80, 90), 0.5, rng), seconds))
    specs: list[Spec] = []
    for source in (n for n in names if n in ("street", "carpark")):
        for state, tag, tamper, seconds in ladder:
            name = f"{len(specs):03d}-limit-{state}-{source}"
            end = 5.0 + seconds
            specs.append(Spec(name, source, end + TAIL_S, int(rng.integers(0, 400)), state, 5.0, end, tamper, tag, tag))
    return specs
