"""Masked pupils at the door: a masked-probe threshold calibrated on masked impostor pairs.

A mask hides the nose, mouth and chin, so a masked pupil scores lower against the template of their bare face, and
the door's usual threshold (set on bare faces) rejects most of them. Strangers in masks score lower against bare
templates too, so at the same false-accept rate per pass a masked face can be accepted at a lower threshold. How
much lower is measured, not guessed: ``calibrate_masked`` pastes a synthetic mask (``models.faces.synthmask``, the
method of ``kuzet eval faces --masked-probes``) on every image of the calibration folders, re-detects and embeds it
with the door's models, scores every masked-probe-vs-bare-face impostor pair and writes the per-comparison
false-accept table. The door turns that table into a per-pass threshold for its gallery size exactly as it does for
bare faces (``models.faces.openset``).

When the door's mask classifier says a pass wears a mask, that pass is identified at the masked threshold and its
event says so (``EntryEvent.identity_masked``); a pass the classifier calls ``no_mask`` or ``unknown`` keeps the
bare-face threshold.

Alternatives measured (SFace, the door's 320-px CenterFace; see the report in models/faces/README.md): enrolling a
masked variant of every enrolment photo doubled the identified share of masked probes on wild_lag_cn at the same
false-accept rate, but needs the masked templates made where the photos are (the backend's enrolment) and carried
in the gallery; a linear map from bare to masked templates learnt on one face set did not transfer to the other.

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
from models.faces.openset import pass_threshold
from models.faces.synthmask import paste_masks

logger = logging.getLogger(__name__)

MASK_SEED = 0  # the fixed seed of the synthetic masks used for calibration (the eval's default too)

# Per-comparison false-accept rate -> cosine threshold for a MASKED probe against bare-face templates, per embedder
# template tag; measured by ``python -m edge.school.masked_calibrate`` (command and data in models/faces/README.md).
MASKED_FAR_TABLES: dict[str, tuple[tuple[float, float], ...]] = {}


class MaskedIdentifyConfig(StrictModel):
    """Identification of a pass the mask classifier says wears a mask."""

    enabled: bool = Field(
        default=True, description="Use the masked-probe threshold for masked passes (else the bare-face one)"
    )
    threshold: float | None = Field(
        default=None,
        ge=-1.0,
        le=1.0,
        description="Override the masked-probe threshold (default: derived from far_table, pass_far, gallery_size)",
    )
    far_table: tuple[tuple[float, float], ...] | None = Field(
        default=None,
        min_length=2,
        max_length=20,
        description="Masked-probe (far, threshold) table of a local `python -m edge.school.masked` run",
    )


def masked_threshold(
    config: MaskedIdentifyConfig, model: str, pass_far: float, gallery_size: int, bare_threshold: float
) -> float:
    """The threshold a masked pass is identified at.

    Args:
        config: the masked settings.
        model: the embedder's template tag (which built-in table applies).
        pass_far: target false-accept rate per pass.
        gallery_size: templates in the gallery.
        bare_threshold: the door's bare-face threshold (used when disabled or no table exists for the embedder).
    """
    if not config.enabled:
        return bare_threshold
    if config.threshold is not None:
        return config.threshold
    table = config.far_table or MASKED_FAR_TABLES.get(model)
    if table is None:
        logger.info("no masked-probe table for embedder %s: masked passes use the bare-face threshold", model)
        return bare_threshold
    return round(pass_threshold(table, pass_far, gallery_size), 4)


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
    "MASKED_FAR_TABLES",
    "MASK_SEED",
    "MaskedIdentifyConfig",
    "masked_probe",
    "masked_threshold",
    "pass_threshold_for",
]
