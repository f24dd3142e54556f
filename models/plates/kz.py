"""Kazakhstan plate grammar: formats, region codes, position-aware confusable fixes.

Formats (sources: the public descriptions of the 2012 standard and the 1993 series; see the plates README):

- ``private``: ``NNN LLL RR`` (2012 on), e.g. ``123ABC02``: three digits, three letters, region code.
- ``legal``: ``NNN LL RR`` (2012 on), legal-entity cars: three digits, two letters, region code.
- ``foreign``: ``F NNNN RR`` / ``H NNNN RR`` (2012 on, yellow plates): F = foreign owner, H = foreign company.
- ``legacy_private`` / ``legacy_legal``: ``R NNN LLL`` / ``R NNN LL`` (1993 series, still on the road): a region
  letter, three digits, three (person) or two (legal entity) letters.

Motorcycle, trailer, diplomatic and police formats were not found in a source we could check; a read of such a
plate fits no format, so it is kept raw and flagged (``valid=False``), never forced into a car format.

The grammar fixes only the confusable pairs O/0, I/1, B/8, S/5, Z/2, and only where the template demands the other
kind of character; a read that needs any other change does not fit. Among fitting formats, the one whose fixes
spend the least recogniser confidence wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from models.plates.text import CONFUSABLE_DIGIT_TO_LETTER, CONFUSABLE_LETTER_TO_DIGIT

REGIONS: dict[str, str] = {
    "01": "Astana",
    "02": "Almaty",
    "03": "Akmola Region",
    "04": "Aktobe Region",
    "05": "Almaty Region",
    "06": "Atyrau Region",
    "07": "West Kazakhstan Region",
    "08": "Jambyl Region",
    "09": "Karaganda Region",
    "10": "Kostanay Region",
    "11": "Kyzylorda Region",
    "12": "Mangystau Region",
    "13": "Turkistan Region",
    "14": "Pavlodar Region",
    "15": "North Kazakhstan Region",
    "16": "East Kazakhstan Region",
    "17": "Shymkent",
    "18": "Abai Region",
    "19": "Zhetysu Region",
    "20": "Ulytau Region",
}

# 1993-series region letters (several letters per region).
LEGACY_REGION_LETTERS: dict[str, str] = {
    "Z": "Astana",
    "A": "Almaty",
    "C": "Akmola Region",
    "D": "Aktobe Region",
    "B": "Almaty Region",
    "V": "Almaty Region",
    "E": "Atyrau Region",
    "L": "West Kazakhstan Region",
    "H": "Jambyl Region",
    "K": "Karaganda Region",
    "M": "Karaganda Region",
    "P": "Kostanay Region",
    "N": "Kyzylorda Region",
    "R": "Mangystau Region",
    "X": "Turkistan Region",
    "S": "Pavlodar Region",
    "T": "North Kazakhstan Region",
    "F": "East Kazakhstan Region",
    "U": "East Kazakhstan Region",
}


@dataclass(frozen=True, slots=True)
class PlateFormat:
    """One plate format: a template of ``D`` (digit), ``L`` (letter) or ``R`` (legacy region letter) slots,
    an optional fixed first-letter set, and where the region sits."""

    name: str
    template: str
    region_slice: tuple[int, int]
    first_letters: str = ""
    display: tuple[int, ...] = ()

    def groups(self, text: str) -> str:
        """``123ABC02`` -> ``123 ABC 02`` (split after the ``display`` positions)."""
        parts, last = [], 0
        for cut in (*self.display, len(text)):
            parts.append(text[last:cut])
            last = cut
        return " ".join(p for p in parts if p)


FORMATS: tuple[PlateFormat, ...] = (
    PlateFormat("private", "DDDLLLDD", (6, 8), display=(3, 6)),
    PlateFormat("legal", "DDDLLDD", (5, 7), display=(3, 5)),
    PlateFormat("foreign", "LDDDDDD", (5, 7), first_letters="FH", display=(1, 5)),
    PlateFormat("legacy_private", "RDDDLLL", (0, 1), display=(1, 4)),
    PlateFormat("legacy_legal", "RDDDLL", (0, 1), display=(1, 4)),
)

_STRIP_PREFIXES = ("KZ", "K2")


@dataclass(frozen=True, slots=True)
class KzPlate:
    """The grammar's verdict on one read.

    Attributes:
        text: fixed text when a format fits, otherwise the read unchanged.
        raw: the read as given.
        char_confidence: (len(text),) confidences aligned with ``text``.
        valid: whether a format fits.
        plate_format: the fitting format's name, or None.
        region_code: ``"02"`` (2012 formats) or the legacy letter, or None.
        region: the region's name, or None.
        fixes: number of confusable characters changed.
    """

    text: str
    raw: str
    char_confidence: NDArray[np.float32] = field(repr=False)
    valid: bool
    plate_format: str | None = None
    region_code: str | None = None
    region: str | None = None
    fixes: int = 0

    @property
    def display(self) -> str:
        """Human form, ``123 ABC 02``; the raw text when no format fits."""
        fmt = next((f for f in FORMATS if f.name == self.plate_format), None)
        return fmt.groups(self.text) if fmt else self.text


def _coerce(ch: str, slot: str) -> tuple[str, bool] | None:
    """The character as the slot needs it and whether it was changed; None when it cannot fit."""
    want_digit = slot == "D"
    if ch.isdigit() == want_digit:
        return ch, False
    table = CONFUSABLE_LETTER_TO_DIGIT if want_digit else CONFUSABLE_DIGIT_TO_LETTER
    return (table[ch], True) if ch in table else None


def fit(text: str, fmt: PlateFormat, conf: NDArray[np.float32]) -> tuple[str, float, int] | None:
    """Fit ``text`` to ``fmt``: the fixed text, the confidence spent on fixes, the number of fixes; or None."""
    if len(text) != len(fmt.template):
        return None
    out, cost, fixes = [], 0.0, 0
    for i, (ch, slot) in enumerate(zip(text, fmt.template, strict=True)):
        got = _coerce(ch, slot)
        if got is None:
            return None
        out.append(got[0])
        if got[1]:
            cost += float(conf[i])
            fixes += 1
    fixed = "".join(out)
    if fmt.first_letters and fixed[0] not in fmt.first_letters:
        return None
    region = fixed[fmt.region_slice[0] : fmt.region_slice[1]]
    if region not in (LEGACY_REGION_LETTERS if "R" in fmt.template else REGIONS):
        return None
    return fixed, cost, fixes


def normalise(text: str, char_confidence: NDArray[np.float32] | None = None) -> KzPlate:
    """Fit a read to the Kazakhstan formats; a read that fits none is returned unchanged with ``valid=False``.

    Args:
        text: the read, upper case, no separators.
        char_confidence: (len(text),) confidences; fixes of confident characters cost more (default all 1).
    """
    text = text.upper()
    conf = np.ones(len(text), np.float32) if char_confidence is None else np.asarray(char_confidence, np.float32)
    candidates = [(text, conf)]
    if text.startswith(_STRIP_PREFIXES):  # the "KZ" of the country strip read as characters
        candidates.append((text[2:], conf[2:]))
    best: tuple[float, int, str, int, PlateFormat, NDArray[np.float32]] | None = None
    for cand, cand_conf in candidates:
        for order, fmt in enumerate(FORMATS):
            got = fit(cand, fmt, cand_conf)
            if got is not None and (best is None or (got[1], order) < (best[0], best[1])):
                best = (got[1], order, got[0], got[2], fmt, cand_conf)
    if best is None:
        return KzPlate(text, text, conf, valid=False)
    _, _, fixed, fixes, fmt, best_conf = best
    code = fixed[fmt.region_slice[0] : fmt.region_slice[1]]
    name = LEGACY_REGION_LETTERS[code] if "R" in fmt.template else REGIONS[code]
    return KzPlate(fixed, text, best_conf, True, fmt.name, code, name, fixes)
