"""Plate text helpers that know no national grammar: normalising labels, edit distance, confusable fixes."""

from __future__ import annotations

import re

import numpy as np

# Letter form -> digit form of the characters plate fonts make ambiguous.
CONFUSABLE_LETTER_TO_DIGIT: dict[str, str] = {"O": "0", "I": "1", "B": "8", "S": "5", "Z": "2"}
CONFUSABLE_DIGIT_TO_LETTER: dict[str, str] = {d: c for c, d in CONFUSABLE_LETTER_TO_DIGIT.items()}
AMBIGUOUS = frozenset(CONFUSABLE_LETTER_TO_DIGIT) | frozenset(CONFUSABLE_DIGIT_TO_LETTER)

_SEPARATORS = re.compile(r"[\s\-.·_]+")


def normalise_text(text: str) -> str:
    """Upper case, spaces/dashes/dots removed: the form labels and reads are compared in."""
    return _SEPARATORS.sub("", text).upper()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance; one numpy row per character of ``a`` (plates are short)."""
    if not a or not b:
        return max(len(a), len(b))
    bb = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    prev = np.arange(len(b) + 1, dtype=np.int32)
    for i, ch in enumerate(a, start=1):
        sub = prev[:-1] + (bb != ord(ch))
        cur = np.empty_like(prev)
        cur[0] = i
        cur[1:] = np.minimum(sub, prev[1:] + 1)
        # insertion chain: cur[j] = min(cur[j], cur[j-1] + 1), done as a running minimum of (cur - j) + j
        offsets = np.arange(len(cur), dtype=np.int32)
        cur = np.minimum.accumulate(cur - offsets) + offsets
        prev = cur
    return int(prev[-1])


def char_accuracy(prediction: str, truth: str) -> float:
    """``1 - edit distance / len(truth)``, floored at 0 (EVAL.md)."""
    if not truth:
        return 1.0 if not prediction else 0.0
    return max(0.0, 1.0 - edit_distance(prediction, truth) / len(truth))


def fix_confusables_generic(text: str) -> str:
    """Fix the O/0 and I/1 confusion at the end of a plate, where no national grammar applies.

    Only one rule: a final ``0``/``1`` right after a letter is the letter ``O``/``I`` (``AB0`` -> ``ABO``); plate
    formats end in a run of letters or a run of digits, and a lone final digit after letters is far rarer than a
    misread final letter. Elsewhere the model's choice stands: without a grammar ``BA3020Z`` is ambiguous.
    A blanket rule pulling a digit into a single final letter (``BA2681M`` -> ``BA268IM``) lost US plates such
    as ``26A178N``; ``fix_by_common_templates`` makes that fix only where a common fixed-structure format asks.
    """
    if len(text) < 2:
        return text
    if text[-1] in "01" and text[-2].isalpha():
        return text[:-1] + CONFUSABLE_DIGIT_TO_LETTER[text[-1]]
    return text


# Fixed-structure formats shared by many European countries (D = digit, L = letter): AB123CD (France SIV, Italy,
# Slovakia, ...), AB12CDE (Great Britain since 2001). Used without any national grammar, only to settle O/0-style
# confusables in reads that fit none of them as read but fit exactly one after a few swaps.
COMMON_TEMPLATES: tuple[str, ...] = ("LLDDDLL", "LLDDLLL")


def _swaps_to(text: str, template: str) -> str | None:
    """``text`` with confusables swapped to fit ``template``, or None when a non-confusable character clashes."""
    if len(text) != len(template):
        return None
    out = []
    for ch, slot in zip(text, template, strict=True):
        if ch.isdigit() == (slot == "D"):
            out.append(ch)
            continue
        table = CONFUSABLE_LETTER_TO_DIGIT if slot == "D" else CONFUSABLE_DIGIT_TO_LETTER
        if ch not in table:
            return None
        out.append(table[ch])
    return "".join(out)


def fix_by_common_templates(text: str, max_swaps: int = 1, templates: tuple[str, ...] = COMMON_TEMPLATES) -> str:
    """Swap at most ``max_swaps`` confusables so a read fits one common template; otherwise leave it alone.

    A read that already fits a template, fits none after swapping, or fits several, is returned unchanged.
    """
    fits: set[str] = set()
    for template in templates:
        fixed = _swaps_to(text, template)
        if fixed == text:
            return text
        if fixed is not None and sum(a != b for a, b in zip(fixed, text, strict=True)) <= max_swaps:
            fits.add(fixed)
    return fits.pop() if len(fits) == 1 else text
