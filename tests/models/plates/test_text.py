"""Grammar-free text helpers: label normalisation, edit distance, the end-of-plate O/I fix."""

from __future__ import annotations

import pytest

from models.plates.text import char_accuracy, edit_distance, fix_confusables_generic, normalise_text


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("", "", 0),
        ("ABC", "", 3),
        ("", "AB", 2),
        ("ABC", "ABC", 0),
        ("ABC", "ABD", 1),
        ("ABC", "AC", 1),
        ("AC", "ABC", 1),
        ("KITTEN", "SITTING", 3),
        ("1B285790", "1B25790", 1),
        ("RRK3346AL", "RK346AL", 2),
    ],
)
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance
    assert edit_distance(b, a) == distance


def test_char_accuracy_is_floored_at_zero() -> None:
    assert char_accuracy("ABC", "ABC") == 1.0
    assert char_accuracy("ABD", "ABCD") == pytest.approx(0.75)
    assert char_accuracy("XXXXXXXX", "AB") == 0.0


@pytest.mark.parametrize(("raw", "clean"), [("wob-vwmk 4", "WOBVWMK4"), ("12.AB_3", "12AB3"), ("ab c", "ABC")])
def test_normalise_text(raw: str, clean: str) -> None:
    assert normalise_text(raw) == clean


@pytest.mark.parametrize(
    ("read", "fixed"),
    [
        ("RK896A0", "RK896AO"),  # final 0 after a letter
        ("LM298A1", "LM298AI"),  # final 1 after a letter
        ("BB135B0", "BB135BO"),
        ("WA56660", "WA56660"),  # final 0 after a digit stays
        ("RK099AN", "RK099AN"),  # 0 inside: ambiguous without a grammar, left alone
        ("1B25790", "1B25790"),
        ("M5XSX", "M5XSX"),
        ("0", "0"),
        ("", ""),
    ],
)
def test_generic_confusable_fix(read: str, fixed: str) -> None:
    assert fix_confusables_generic(read) == fixed
