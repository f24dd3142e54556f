"""Open-set thresholds at gallery scale: from a per-comparison false-accept table to a per-pass threshold.

A face at the door is compared with every template of the school and accepted when its best score reaches the
threshold, so a stranger is falsely accepted when ANY of the N comparisons does. With a per-comparison
false-accept rate ``f`` at threshold ``t``, the per-pass rate is ``1 - (1 - f) ** N`` if the N scores were
independent. Real scores are positively correlated (one probe that resembles many faces scores high with all), and
for a fixed mean ``f`` the per-pass rate is then lower (Jensen: ``1 - (1 - f) ** N`` is concave in ``f``), so the
threshold chosen by ``pass_threshold`` is on the safe side; ``kuzet school calibrate`` measures the real per-pass
rate of simulated galleries next to this bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def comparison_far(pass_far: float, gallery_size: int) -> float:
    """Per-comparison false-accept rate that gives ``pass_far`` per pass against ``gallery_size`` templates."""
    if not 0.0 < pass_far < 1.0:
        raise ValueError(f"pass_far {pass_far} must be in (0, 1)")
    n = max(int(gallery_size), 1)
    return -math.expm1(math.log1p(-pass_far) / n)


def pass_far_bound(comparison: float, gallery_size: int) -> float:
    """Per-pass false-accept rate of independent comparisons: ``1 - (1 - comparison) ** gallery_size``."""
    return -math.expm1(max(int(gallery_size), 1) * math.log1p(-min(max(comparison, 0.0), 1.0 - 1e-15)))


def threshold_at(table: Sequence[tuple[float, float]], far: float) -> float:
    """Cosine threshold at a per-comparison false-accept rate, interpolated linearly in log10(far).

    Args:
        table: (far, threshold) pairs, far strictly decreasing (as in ``EmbedderConfig.far_table``).
        far: the wanted rate; beyond the table the last segment is extended (and the result clipped to [-1, 1]).
    """
    if len(table) < 2:
        raise ValueError("a false-accept table needs at least two points")
    logs = [math.log10(f) for f, _ in table]
    target = math.log10(max(far, 1e-300))
    index = 1
    while index < len(table) - 1 and target < logs[index]:
        index += 1
    (x0, y0), (x1, y1) = (logs[index - 1], table[index - 1][1]), (logs[index], table[index][1])
    value = y0 + (y1 - y0) * (target - x0) / (x1 - x0)
    return float(min(max(value, -1.0), 1.0))


def pass_threshold(table: Sequence[tuple[float, float]], pass_far: float, gallery_size: int) -> float:
    """Threshold whose false-accept rate per pass (best of ``gallery_size`` templates) is at most ``pass_far``."""
    return threshold_at(table, comparison_far(pass_far, gallery_size))


__all__ = ["comparison_far", "pass_far_bound", "pass_threshold", "threshold_at"]
