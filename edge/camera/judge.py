"""The tamper monitor's verdicts on one analysed picture against the reference: covered or defocused, and moved.

``Reference`` holds what the verdicts compare with (derived once from the ``Baseline``); ``LensJudge`` tells a covered
lens from a blurred or misted one; ``MotionJudge`` tells whether the view moved. The monitor (``edge.camera.monitor``)
feeds them each analysis and runs the hysteresis; they hold only the little state a verdict needs between analyses.

Two measures of the whole view against the reference carry the judgements where features are scarce (an empty
asphalt car park): the regional correlation of the picture's layout (``measures.layout``) and a phase correlation of a
band-passed 160 px copy (``measures.phase_shift``). A blur or a mist keeps the scene where it was, so the phase
correlation still peaks at the reference's position; a hand, a cloth or a sticker leaves no such peak; a camera moved
sideways moves the peak.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from edge.camera.baseline import Baseline
from edge.camera.config import CameraHealthConfig
from edge.camera.measures import (
    Features,
    Motion,
    PhaseShift,
    change_share,
    coarse,
    estimate_motion,
    flat_fraction,
    layout,
    orb_features,
    phase_shift,
    regional_correlation,
    tile_detail,
)

LAYOUT_WIDTH, LAYOUT_SIGMA = 80, 6.0  # px: the picture whose layout tells a cover from a blur (measures.layout)
PHASE_WIDTH, PHASE_SIGMA = 160, 4.0  # px: the band-passed picture whose phase correlation finds the scene
FLUX_WIDTH, FLUX_LEVEL = 40, 0.1  # px, share of the mean level: the picture compared between analyses for flux


@dataclass(frozen=True, slots=True)
class Reference:
    """What the verdicts compare a picture with, derived once from a baseline."""

    baseline: Baseline
    features: Features
    layout: NDArray[np.float32]
    phase: NDArray[np.float32]
    detail: NDArray[np.float32]
    textured: NDArray[np.bool_]


def reference_of(baseline: Baseline, config: CameraHealthConfig) -> Reference:
    """The reference of ``baseline`` under ``config`` (features, layout, band-passed picture, detail per tile)."""
    picture = baseline.reference
    detail = tile_detail(picture, config.detail_block_px)
    textured = detail >= config.detail_min_texture
    if textured.sum() < 4:  # a nearly featureless view: compare whatever detail it has
        textured = detail > 0.0
    return Reference(
        baseline,
        orb_features(picture, config.orb_features),
        layout(picture, LAYOUT_WIDTH, LAYOUT_SIGMA),
        layout(picture, PHASE_WIDTH, PHASE_SIGMA),
        detail,
        textured,
    )


def scene_shift(grey: NDArray[np.uint8], reference: Reference) -> PhaseShift:
    """The phase correlation of ``grey`` with the reference (shift in full-frame px)."""
    found = phase_shift(layout(grey, PHASE_WIDTH, PHASE_SIGMA), reference.phase)
    scale = reference.baseline.frame_size[0] / float(reference.phase.shape[1])
    return PhaseShift(found.dx * scale, found.dy * scale, found.response)


def detail_kept(
    grey: NDArray[np.uint8], reference: Reference, config: CameraHealthConfig
) -> tuple[float, float, float]:
    """(median share of the reference's fine detail kept per textured tile, share of those tiles that lost it,
    share of all tiles that gained detail the reference lacks: vehicles or people in view).

    Tile by tile, so a vehicle passing, or a baseline recorded while one was in view, moves a few tiles and not the
    median (``measures.tile_detail`` is already independent of the exposure)."""
    detail = tile_detail(grey, config.detail_block_px)
    ref = reference.detail
    if detail.shape != ref.shape:
        return 1.0, 0.0, 0.0
    gained = float(((detail > 2.0 * ref) & (detail >= config.detail_min_texture)).mean())
    kept = detail[reference.textured] / np.maximum(ref[reference.textured], 1e-6)
    if kept.size == 0:
        return 1.0, 0.0, gained
    return float(np.median(kept)), float((kept < config.covered_lost_ratio).mean()), gained


def _beyond(motion: Motion, width: int, config: CameraHealthConfig) -> bool:
    return (
        motion.shift_px > config.moved_shift_frac * width
        or abs(motion.rotation_deg) > config.moved_rotation_deg
        or abs(motion.scale - 1.0) > config.moved_scale
    )


class LensJudge:
    """Covered or defocused, with the verdict that holds while the detail stays collapsed."""

    def __init__(self, config: CameraHealthConfig) -> None:
        self.config = config
        self.verdict: str | None = None  # "covered" or "defocused", while the detail stays collapsed
        self._previous: NDArray[np.float32] | None = None

    def judge(
        self,
        grey: NDArray[np.uint8],
        reference: Reference,
        contrast: float,
        detail: tuple[float, float, float],
        scene: PhaseShift,
    ) -> tuple[bool, bool]:
        """(covered, defocused) of a picture that is not dark. Covered: the detail, contrast or texture collapsed
        while the scene is gone (layout correlation under ``covered_max_correlation`` and no phase-correlation peak
        of ``scene_kept_response``). Defocused: the detail collapsed while the scene is kept (a blur or a mist keeps
        the layout and the phase peak; a hand, a cloth or a sticker over most of the view keeps neither).

        The verdict is reached when the detail collapses and holds while it stays collapsed, changing only on clear
        evidence: to covered when the layout falls under ``covered_flip_correlation`` with no phase peak, to
        defocused when the layout rises over ``defocused_flip_correlation`` or the phase peak is back at the
        reference's position. While the picture holds much more contrast than the reference (vehicles filling a
        low-contrast view) the layout says nothing about the lens: no verdict is reached while such a picture also
        holds detail where the reference had none (a hand adds contrast but no detail), and none turns to covered.
        Nor is a covered verdict reached while the picture is in flux (``covered_flux_share`` of it changed since
        the last analysis, exposure aside): a cover is opaque and settles at once, while a vehicle driving through
        a misted low-texture view hides the scene's peak for as long as it moves."""
        cfg = self.config
        small = coarse(grey, FLUX_WIDTH)
        flux = 1.0 if self._previous is None else change_share(small, self._previous, FLUX_LEVEL)
        self._previous = small
        baseline = reference.baseline
        ratio, lost, gained = detail
        flat = flat_fraction(grey, cfg.flat_block_px, cfg.flat_block_std)
        collapsed = contrast < cfg.covered_contrast_ratio * baseline.contrast or lost >= cfg.covered_lost_fraction
        featureless = flat >= cfg.covered_flat_fraction and flat - baseline.flat_fraction >= cfg.covered_flat_gain
        blurred = ratio < cfg.defocused_ratio
        if not (collapsed or featureless or blurred):
            self.verdict = None
            return False, False
        busy = contrast > cfg.busy_contrast_ratio * baseline.contrast
        kept = regional_correlation(layout(grey, LAYOUT_WIDTH, LAYOUT_SIGMA), reference.layout)
        peak = (
            scene.response >= cfg.scene_kept_response
            and scene.shift_px <= cfg.moved_shift_frac * baseline.frame_size[0]
        )
        if self.verdict is None:
            if not (busy and gained >= cfg.busy_detail_share):
                gone = kept < cfg.covered_max_correlation and not peak
                if not gone:
                    self.verdict = "defocused"
                elif flux < cfg.covered_flux_share:
                    self.verdict = "covered"
        elif peak or kept > cfg.defocused_flip_correlation:
            self.verdict = "defocused"
        elif not busy and kept < cfg.covered_flip_correlation:
            self.verdict = "covered"
        return self.verdict == "covered", self.verdict == "defocused" and blurred


class MotionJudge:
    """The moved condition: the view against the reference by ORB features, or by phase correlation where too few
    features match (a low-texture view); re-checked against the reference every analysis."""

    def __init__(self, config: CameraHealthConfig) -> None:
        self.config = config
        self.moved = False
        self.last: Motion | None = None
        self._motions: deque[Motion] = deque(maxlen=max(2, config.moved_consistent))
        self._beyond_at: datetime | None = None
        self._turned = False  # the latest estimate beyond the tolerance was a rotation or a zoom
        self._features_at: datetime | None = None  # when features last gave a trusted estimate

    def clear(self) -> None:
        """Forget the recent estimates (the view is covered: they no longer say where it points)."""
        self._motions.clear()

    def judge(self, grey: NDArray[np.uint8], reference: Reference, scene: PhaseShift, at: datetime) -> bool:
        """Update the moved condition; True when this analysis is sure the view shows another part of the scene
        (two successive estimates beyond the tolerance that agree), whatever its detail or layout say."""
        cfg = self.config
        width = reference.baseline.frame_size[0]
        motion = self._estimate(grey, reference, scene, at)
        if motion is None:  # a cut, a vehicle filling the view, a cover: no judgement, unless the evidence is stale
            stale = self._beyond_at is not None and (at - self._beyond_at).total_seconds() >= cfg.moved_stale_s
            self.moved = self.moved and not stale
            return False
        self.last = motion
        previous = self._motions[-1] if self._motions else None
        self._motions.append(motion)
        beyond = _beyond(motion, width, cfg)
        if beyond:
            self._beyond_at = at
            self._turned = (
                abs(motion.rotation_deg) > cfg.moved_rotation_deg or abs(motion.scale - 1.0) > cfg.moved_scale
            )
        elif previous is not None and not _beyond(previous, width, cfg) and self._refutes(motion):
            self.moved = False  # back within the tolerance twice running: the view is where it was
        recent = list(self._motions)[-cfg.moved_consistent :]
        consistent = len(recent) >= cfg.moved_consistent and all(_beyond(m, width, cfg) for m in recent)
        if consistent and self._agree(recent, width):
            self.moved = True
        sure_support = motion.matches == 0 or motion.inliers >= cfg.moved_sure_inliers
        return (
            beyond
            and sure_support
            and previous is not None
            and _beyond(previous, width, cfg)
            and (self._agree([previous, motion], width))
        )

    def _estimate(
        self, grey: NDArray[np.uint8], reference: Reference, scene: PhaseShift, at: datetime
    ) -> Motion | None:
        """The features' estimate when trusted; else, unless they gave one within the last second (they see a
        rotation that the phase correlation mistakes for a shift), the whole view's shift by phase correlation."""
        cfg = self.config
        size = (grey.shape[1], grey.shape[0])
        scale = reference.baseline.scale
        motion = estimate_motion(reference.features, orb_features(grey, cfg.orb_features), size, scale)
        if (
            motion is not None
            and motion.inliers >= cfg.moved_min_inliers
            and motion.inliers >= cfg.moved_min_inlier_share * motion.matches
        ):
            self._features_at = at
            return motion
        recent = self._features_at is not None and (at - self._features_at).total_seconds() < 1.0
        if scene.response >= cfg.moved_phase_response and not recent:  # the whole view's shift (no rotation)
            return Motion(scene.dx, scene.dy, 0.0, 1.0, inliers=0, matches=0)
        return None

    def _refutes(self, motion: Motion) -> bool:
        """True when ``motion`` (within the tolerance) can say the view is back: a feature estimate always; a
        phase-correlation one (blind to rotation and zoom) only when the move it answers was a shift."""
        return motion.matches > 0 or not self._turned

    def _agree(self, motions: list[Motion], width: int) -> bool:
        cfg = self.config
        dxs, dys = [m.dx for m in motions], [m.dy for m in motions]
        spread = max(max(dxs) - min(dxs), max(dys) - min(dys))
        rotations = [m.rotation_deg for m in motions]
        return spread <= cfg.moved_stable_frac * width and (max(rotations) - min(rotations) <= cfg.moved_rotation_deg)
