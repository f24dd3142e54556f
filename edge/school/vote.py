"""Identity vote over the best frames of one pass."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray


def vote(
    pupil_ids: Sequence[str | None], scores: NDArray[Any], min_votes: int, min_fraction: float
) -> tuple[str | None, float | None]:
    """Majority of the frames that matched someone; ties go to the higher mean score.

    Args:
        pupil_ids: K per-frame identities (None = below the threshold).
        scores: (K,) per-frame best cosine similarity.
        min_votes: frames that must agree.
        min_fraction: share of all K frames the winner needs.

    Returns:
        (winner or None, score): the winner's mean similarity, or the best similarity of the pass when unknown
        (None when there were no frames).
    """
    values = np.asarray(scores, np.float64).reshape(-1)
    if len(values) == 0:
        return None, None
    names = np.asarray([p or "" for p in pupil_ids], dtype=np.str_)
    candidates, counts = np.unique(names[names != ""], return_counts=True)
    if len(candidates) == 0:
        return None, float(values.max())
    means = np.asarray([values[names == c].mean() for c in candidates])
    order = np.lexsort((-means, -counts))
    best = int(order[0])
    if counts[best] < min_votes or counts[best] < min_fraction * len(values):
        return None, float(values.max())
    return str(candidates[best]), float(means[best])
