"""Where plate reading errors come from: the additive ``errors`` block of ``eval plates`` and ``eval scenes``.

Each wrong read gets one kind from comparing its text with the label: ``empty`` (nothing read), ``confusable``
(same length, every differing character one of the look-alike pairs O/0, I/1, B/8, S/5, Z/2, G/6, D/0, Q/0),
``substitution`` (same length, other characters wrong), ``too_long`` (extra characters: a state name, frame text,
a sticker read as a character) or ``too_short`` (characters lost). Independently, the crop's own evidence is
counted: a second row of character shapes (``extra_text_lines``), characters lower than the reader's comfortable
height (``small_chars``) or no character row found at all (``no_character_row``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

LOOK_ALIKES: frozenset[frozenset[str]] = frozenset(
    frozenset(pair) for pair in ("O0", "I1", "B8", "S5", "Z2", "G6", "D0", "Q0")
)
_FOLD = str.maketrans("OIBSZGDQ", "01852600")


def error_kind(read: str, truth: str) -> str | None:
    """The kind of a read's error against its label (both normalised), None when it is right."""
    if read == truth:
        return None
    if not read:
        return "empty"
    if len(read) > len(truth):
        return "too_long"
    if len(read) < len(truth):
        return "too_short"
    pairs = [frozenset((a, b)) for a, b in zip(read, truth, strict=True) if a != b]
    return "confusable" if all(p in LOOK_ALIKES for p in pairs) else "substitution"


def confusable_pairs(read: str, truth: str) -> list[str]:
    """The look-alike swaps of a same-length read, as ``"<truth>-><read>"`` (``"0->O"``)."""
    if len(read) != len(truth):
        return []
    return [f"{b}->{a}" for a, b in zip(read, truth, strict=True) if a != b and frozenset((a, b)) in LOOK_ALIKES]


@dataclass
class ErrorTally:
    """Counts of error kinds and crop evidence over an evaluation run."""

    small_char_height: float = 16.0
    items: int = 0
    folded_right: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    pairs: Counter[str] = field(default_factory=Counter)
    evidence: Counter[str] = field(default_factory=Counter)

    def add(self, read: str, truth: str, char_height: float | None = None, text_rows: int | None = None) -> None:
        """One scored item; ``char_height`` and ``text_rows`` come from the reader (None: not read at all)."""
        self.items += 1
        self.folded_right += read.translate(_FOLD) == truth.translate(_FOLD)
        kind = error_kind(read, truth)
        if kind is None:
            return
        self.kinds[kind] += 1
        self.pairs.update(confusable_pairs(read, truth))
        if text_rows is None:
            return
        if text_rows > 1:
            self.evidence["extra_text_lines"] += 1
        if text_rows == 0:
            self.evidence["no_character_row"] += 1
        elif char_height is not None and char_height < self.small_char_height:
            self.evidence["small_chars"] += 1

    def add_missed(self, kind: str) -> None:
        """An item that never reached the reader (``not_found`` plate, ``unreadable`` image)."""
        self.items += 1
        self.kinds[kind] += 1

    def report(self) -> dict[str, Any]:
        """The ``errors`` block: kinds add up to the wrong items; evidence counts are over wrong reads."""
        kinds = ("not_found", "unreadable", "empty", "confusable", "substitution", "too_long", "too_short")
        return {
            "wrong": sum(self.kinds.values()),
            "by_kind": {k: self.kinds[k] for k in kinds if k in self.kinds or k not in ("not_found", "unreadable")},
            "confusable_pairs": dict(self.pairs.most_common()),
            "extra_text_lines": self.evidence["extra_text_lines"],
            "small_chars": self.evidence["small_chars"],
            "no_character_row": self.evidence["no_character_row"],
            "exact_confusables_folded": round(self.folded_right / self.items, 4) if self.items else 0.0,
        }
