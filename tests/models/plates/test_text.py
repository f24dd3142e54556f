"""Grammar-free text helpers: label normalisation, edit distance, the end-of-plate O/I fix."""

from __future__ import annotations

import pytest

from models.plates.text import (
    char_accuracy,
    edit_distance,
    fix_by_common_templates,
    fix_confusables_generic,
    normalise_text,
)


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


@pytest.mark.parametrize(
    ("read", "fixed"),
    [
        ("BA3020Z", "BA302OZ"),  # one swap makes it AB123CD
        ("BA2681M", "BA268IM"),
        ("AB12CD5", "AB12CDS"),  # ... or AB12CDE
        ("RK099AN", "RK099AN"),  # already fits: untouched
        ("OY09FEU", "OY09FEU"),
        ("B43O2OZ", "B43O2OZ"),  # would need two swaps
        ("26A178N", "26A178N"),  # US plate: fits no template, left alone
        ("1B25790", "1B25790"),
        ("", ""),
    ],
)
def test_common_template_fix(read: str, fixed: str) -> None:
    assert fix_by_common_templates(read) == fixed


def test_common_template_fix_can_be_disabled() -> None:
    assert fix_by_common_templates("BA3020Z", max_swaps=0) == "BA3020Z"
