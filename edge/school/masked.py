"""Masked pupils at the door: a masked-probe threshold calibrated on masked impostor pairs.

A mask hides the nose, mouth and chin, so a masked pupil scores lower against the template of their bare face, and
the door's usual threshold (set on bare faces) rejects most of them. Strangers in masks score lower against bare
templates too, so at the same false-accept rate a masked face can be accepted at a lower threshold. How much lower
is measured, not guessed: ``masked_calibrate`` pastes a synthetic mask (``models.faces.synthmask``, the method of
``kuzet eval faces --masked-probes``) on every image of the calibration folders, re-detects and embeds it with the
door's models, and compares the impostor tail of masked-probe-vs-bare-face pairs with that of bare pairs of the same
faces: the difference per false-accept rate is the offset (``MASKED_OFFSETS``). The door adds it to its bare-face
threshold at the per-comparison rate its per-pass target and gallery size ask for (``models.faces.openset``).

When the door's mask classifier says a pass wears a mask, that pass is identified at the masked threshold and its
event says so (``EntryEvent.identity_masked``); a pass the classifier calls ``no_mask`` or ``unknown`` keeps the
bare-face threshold. A bare stranger the classifier wrongly calls masked is judged at the lower threshold: the
classifier's false-mask rate times the bare false-accept rate there is added to the per-pass rate (README).

Alternative measured (SFace, the door's 320-px CenterFace; README "Masked pupils"): enrolling a masked variant of
every enrolment photo identifies more masked probes at the same false-accept rate, but needs the masked templates
made where the photos are (the backend's enrolment) and carried in the gallery; a linear map from bare to masked
templates learnt on one face set did not transfer to the other.

The calibration is ``python -m edge.school.masked_calibrate`` (``edge/school/masked_calibrate.py``).
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from kuzet.config import StrictModel
from models.detections import Detections
from models.faces.base import FaceDetector
from models.faces.openset import comparison_far
from models.faces.synthmask import paste_masks

logger = logging.getLogger(__name__)

MASK_SEED = 0  # the fixed seed of the synthetic masks used for calibration (the eval's default too)

# Masked-probe threshold minus bare-face threshold at the same per-comparison false-accept rate, per embedder
# template tag, measured in one run on the same faces by ``python -m edge.school.masked_calibrate`` (``offsets``;
# command, data and figures in the README's "Masked pupils" section). An offset, not an absolute table, so it stays
# valid when the bare-face table is re-calibrated on local faces. Beyond the measured rates the nearest offset holds.
# SFace: the smallest drop over the duplicate-merging settings tried (none, 0.75, 0.7, 0.65, 0.6).
MASKED_OFFSETS: dict[str, tuple[tuple[float, float], ...]] = {
    "sface_2021dec": ((1e-3, -0.032), (1e-4, -0.036), (1e-5, -0.031)),
}


class MaskedIdentifyConfig(StrictModel):
    """Identification of a pass the mask classifier says wears a mask."""

    enabled: bool = Field(
        default=True, description="Use the masked-probe threshold for masked passes (else the bare-face one)"
    )
    threshold: float | None = Field(
        default=None,
        ge=-1.0,
        le=1.0,
        description="Override the masked-probe threshold (default: the bare-face threshold plus the offset)",
    )
    offsets: tuple[tuple[float, float], ...] | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description=(
            "(far, masked minus bare threshold) pairs of a local `python -m edge.school.masked_calibrate` run "
            "(default: the embedder's built-in MASKED_OFFSETS)"
        ),
    )


def offset_at(offsets: tuple[tuple[float, float], ...], far: float) -> float:
    """The offset at a per-comparison rate, linear in log10(far) between rows and constant beyond the ends."""
    ordered = sorted(offsets, key=lambda row: -row[0])
    logs = np.log10([f for f, _ in ordered])
    values = np.asarray([o for _, o in ordered], np.float64)
    return float(np.interp(-np.log10(max(far, 1e-300)), -logs, values))


def masked_threshold(
    config: MaskedIdentifyConfig, model: str, pass_far: float, gallery_size: int, bare_threshold: float
) -> float:
    """The threshold a masked pass is identified at: the bare-face threshold plus the measured offset at the
    per-comparison rate the per-pass target asks for (``models.faces.openset.comparison_far``).

    Args:
        config: the masked settings.
        model: the embedder's template tag (which built-in offsets apply).
        pass_far: target false-accept rate per pass.
        gallery_size: templates in the gallery.
        bare_threshold: the door's bare-face threshold (also the answer when disabled or nothing is measured).
    """
    if not config.enabled:
        return bare_threshold
    if config.threshold is not None:
        return config.threshold
    offsets = config.offsets or MASKED_OFFSETS.get(model)
    if offsets is None:
        logger.info("no masked-probe offsets for embedder %s: masked passes use the bare-face threshold", model)
        return bare_threshold
    return round(bare_threshold + offset_at(offsets, comparison_far(pass_far, gallery_size)), 4)


def pass_threshold_for(mask: str, bare: float, masked: float) -> tuple[float, bool]:
    """(threshold, masked path taken) for a pass whose mask verdict is ``mask`` / ``no_mask`` / ``unknown``."""
    return (masked, True) if mask == "mask" else (bare, False)


def masked_probe(
    image: NDArray[np.uint8], faces: Detections, detector: FaceDetector, seed: int, key: str
) -> tuple[NDArray[np.uint8], Detections, str]:
    """Paste a synthetic mask on every face of ``image`` and detect again (the door sees the masked face).

    Returns:
        (masked image, the largest face detected in it, or an empty ``Detections``; the mask colour).
    """
    masked, colour = paste_masks(image, faces.data["landmarks"], faces.xyxy, seed, key)
    found = detector.detect(masked)
    main = found[int(np.argmax(found.area))] if len(found) else found
    return masked, main, colour


__all__ = [
    "MASKED_OFFSETS",
    "MASK_SEED",
    "MaskedIdentifyConfig",
    "masked_probe",
    "masked_threshold",
    "offset_at",
    "pass_threshold_for",
]
