"""Identity vote over the best frames of one pass; ``vote_pass`` also says whether the winner came from a masked
face (the door's masked-probe path, ``edge.school.masked``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class PassVote:
    """The identity of one pass and whether it rests on a masked face.

    Attributes:
        pupil_id: the winner, or None (unknown).
        score: the winner's mean similarity, or the best similarity of the pass when unknown (None: no frames).
        masked: True when a frame that voted for the winner was matched at the masked-probe threshold.
    """

    pupil_id: str | None
    score: float | None
    masked: bool


def vote_pass(
    pupil_ids: Sequence[str | None],
    scores: NDArray[Any],
    masked: Sequence[bool],
    min_votes: int,
    min_fraction: float,
) -> PassVote:
    """``vote`` over a pass's frames, remembering whether the winner's frames were matched as masked faces.

    Args:
        pupil_ids: K per-frame identities (None = below that frame's threshold).
        scores: (K,) per-frame best cosine similarity.
        masked: K flags: the frame was judged at the masked-probe threshold.
        min_votes: frames that must agree.
        min_fraction: share of all K frames the winner needs.
    """
    if len(masked) != len(pupil_ids):
        raise ValueError(f"{len(masked)} masked flags for {len(pupil_ids)} frames")
    winner, score = vote(pupil_ids, scores, min_votes, min_fraction)
    from_mask = winner is not None and any(m for p, m in zip(pupil_ids, masked, strict=True) if p == winner)
    return PassVote(winner, score, from_mask)
