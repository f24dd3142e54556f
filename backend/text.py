"""Text that people type and other people read (names, addresses): refused when it would mislead or break a line.

A name must hold something visible, and no control characters (NUL, CR, LF, ...) or bidirectional overrides and
isolates (U+202A-U+202E, U+2066-U+2069: an RTL override makes ``Timur`` display as another name). An address (e-mail,
phone, chat id) is one line. The types are used by the request models of the routes; a refusal is a 422 naming the
field.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def checked_text(value: str) -> str:
    """``value`` when it has a visible character and no control or bidirectional-override character."""
    if not value.strip():
        raise ValueError("must contain visible characters, not only whitespace")
    bad = next((c for c in value if c in BIDI_CONTROLS or unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        raise ValueError(f"must not contain the control character U+{ord(bad):04X}")
    return value


Name = Annotated[str, AfterValidator(checked_text)]
"""A person's, class's or school's name: visible, no control or bidi-override characters."""
Address = Annotated[str, AfterValidator(checked_text)]
"""A one-line address (e-mail, phone, chat id): no CR/LF, no control characters."""
