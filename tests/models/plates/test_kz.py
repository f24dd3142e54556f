"""Kazakhstan plate grammar: valid, confusable and invalid reads."""

from __future__ import annotations

import numpy as np
import pytest

from models.plates import kz


@pytest.mark.parametrize(
    ("read", "fmt", "region"),
    [
        ("123ABC02", "private", "Almaty"),
        ("001AAA01", "private", "Astana"),
        ("777KZX17", "private", "Shymkent"),
        ("450XYZ20", "private", "Ulytau Region"),
        ("123AB02", "legal", "Almaty"),
        ("908HK14", "legal", "Pavlodar Region"),
        ("F123402", "foreign", "Almaty"),
        ("H000118", "foreign", "Abai Region"),
        ("A585CUO", "legacy_private", "Almaty"),
        ("Z001AA", "legacy_legal", "Astana"),
    ],
)
def test_valid_plates_fit_their_format_and_region(read: str, fmt: str, region: str) -> None:
    plate = kz.normalise(read)
    assert plate.valid
    assert plate.text == read
    assert plate.plate_format == fmt
    assert plate.region == region
    assert plate.fixes == 0


@pytest.mark.parametrize(
    ("read", "fixed", "fixes"),
    [
        ("I23ABC02", "123ABC02", 1),  # I in a digit slot -> 1
        ("123A8C02", "123ABC02", 1),  # 8 in a letter slot -> B
        ("12SAB0Z", "125AB02", 2),  # S -> 5 and Z -> 2 (legal format, region 02)
        ("0O1AAA0I", "001AAA01", 2),  # O -> 0 in the number, I -> 1 in the region
        ("123A0C05", "123AOC05", 1),  # 0 in a letter slot -> O
        ("KZ123ABC02", "123ABC02", 0),  # the strip's KZ read as characters is dropped
        ("K2123AB02", "123AB02", 0),  # ... also when its Z was read as 2
    ],
)
def test_confusables_are_fixed_by_position(read: str, fixed: str, fixes: int) -> None:
    plate = kz.normalise(read)
    assert plate.valid
    assert plate.text == fixed
    assert plate.fixes == fixes


@pytest.mark.parametrize(
    "read",
    [
        "",  # nothing read
        "123ABC",  # no region
        "123ABC99",  # region 99 does not exist
        "123ABC00",  # region 00 does not exist
        "12ABC02",  # two digits
        "1234ABC02",  # too long
        "123AXC2",  # wrong length for the letters/region split
        "123A4C02",  # 4 is not confusable with a letter
        "Q234567",  # foreign plates start with F or H
        "WOBVWMK4",  # a German plate
        "123ABC021",  # trailing junk
    ],
)
def test_reads_fitting_no_format_are_kept_raw_and_flagged(read: str) -> None:
    plate = kz.normalise(read)
    assert not plate.valid
    assert plate.text == read
    assert plate.plate_format is None
    assert plate.region is None


def test_confident_characters_are_the_costliest_to_change() -> None:
    # "8" can be B (private, letter slot) only; "123A8C02" has one fix: the cheapest fit is taken.
    low = kz.normalise("123A8C02", np.array([1, 1, 1, 1, 0.3, 1, 1, 1], np.float32))
    assert low.text == "123ABC02"
    assert low.char_confidence.shape == (8,)


def test_every_region_code_is_named() -> None:
    assert sorted(kz.REGIONS) == [f"{i:02d}" for i in range(1, 21)]
    assert kz.REGIONS["02"] == "Almaty"
    assert kz.REGIONS["01"] == "Astana"


@pytest.mark.parametrize(("read", "display"), [("123ABC02", "123 ABC 02"), ("123AB02", "123 AB 02"), ("XYZ", "XYZ")])
def test_display_groups(read: str, display: str) -> None:
    assert kz.normalise(read).display == display
