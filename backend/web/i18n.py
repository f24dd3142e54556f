"""The pages' languages: one JSON catalogue per language (``i18n/{kk,ru,en}.json``, the same keys in each) and a
``t(key, **values)`` for templates. English is the reference: a key missing in another catalogue falls back to it
(a test keeps the catalogues complete, and another scans rendered pages for English left on kk/ru pages)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Literal

PageLanguage = Literal["kk", "ru", "en"]
LANGUAGES: tuple[PageLanguage, ...] = ("kk", "ru", "en")
DEFAULT: PageLanguage = "ru"
FOLDER = Path(__file__).resolve().parent / "i18n"
NATIVE = {"kk": "Қазақша", "ru": "Русский", "en": "English"}


@cache
def catalogue(language: str) -> dict[str, str]:
    """The key -> text catalogue of ``language`` (read once per process)."""
    data = json.loads((FOLDER / f"{language}.json").read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()}


def language(value: str | None) -> PageLanguage:
    """``value`` when it is a page language, else the default."""
    for known in LANGUAGES:
        if value == known:
            return known
    return DEFAULT


Translate = Callable[..., str]


def translator(lang: str) -> Translate:
    """``t(key, **values)``: the text of ``key`` in ``lang`` (English when missing) with ``{name}`` filled."""
    own, english = catalogue(language(lang)), catalogue("en")

    def t(key: str, **values: object) -> str:
        text = own.get(key) or english.get(key) or key
        return text.format(**values) if values else text

    return t
