"""Line selection by character height (``models/plates/rectify.py``) on drawn plates and through the real reader:
a state name and a slogan are cut away, a two-line plate is laid out as one line, a tilted row is levelled."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from models.plates.ocr import PlateReader
from models.plates.rectify import cut_to_row, find_character_row

FONT = cv2.FONT_HERSHEY_SIMPLEX


def us_style(text: str, state: str = "ARIZONA", slogan: str = "GRAND CANYON STATE") -> NDArray[np.uint8]:
    """A light plate: a small state name above, the registration in large print, a small slogan below."""
    plate = np.full((140, 300, 3), 225, np.uint8)
    cv2.rectangle(plate, (3, 3), (296, 136), (40, 40, 40), 2)
    cv2.putText(plate, state, (95, 26), FONT, 0.6, (60, 40, 160), 2)
    cv2.putText(plate, text, (28, 95), FONT, 2.0, (30, 30, 30), 5)
    cv2.putText(plate, slogan, (70, 129), FONT, 0.45, (60, 60, 60), 1)
    return plate


def two_line(top: str, bottom: str) -> NDArray[np.uint8]:
    """A square two-line plate (upper and lower rows of equal character height)."""
    plate = np.full((120, 200, 3), 235, np.uint8)
    cv2.rectangle(plate, (2, 2), (197, 117), (30, 30, 30), 2)
    cv2.putText(plate, top, (22, 52), FONT, 1.5, (20, 20, 20), 4)
    cv2.putText(plate, bottom, (22, 106), FONT, 1.5, (20, 20, 20), 4)
    return plate


def test_registration_row_is_the_tallest_and_the_small_lines_are_cut_away() -> None:
    plate = us_style("ASV9218")
    row = find_character_row(plate)
    assert row is not None
    x1, y1, x2, y2 = row.bounds
    assert 40 <= row.char_height <= 50  # the registration's height, not the state name's (~13 px)
    assert y1 > 28 and y2 < 119  # state name (y < 27) and slogan (y > 120) are outside the cut
    assert (x1, x2) == (0, 300)  # the width is kept: a side cut lost frame-touching first/last characters
    assert row.other_rows >= 1 and row.second is None
    assert cut_to_row(plate, row).shape[:2] == (y2 - y1, 300)


def test_light_text_on_a_dark_plate_is_found() -> None:
    plate = 255 - us_style("7XK401")
    row = find_character_row(plate)
    assert row is not None and 40 <= row.char_height <= 50


@pytest.mark.parametrize("image", [np.full((40, 160, 3), 200, np.uint8), np.zeros((40, 160, 3), np.uint8)])
def test_no_row_in_a_blank_crop_and_the_crop_stays_as_it_is(image: NDArray[np.uint8]) -> None:
    assert find_character_row(image) is None
    assert cut_to_row(image, None) is image


def test_tilted_row_is_measured_and_levelled() -> None:
    plate = us_style("ASV9218")
    matrix = cv2.getRotationMatrix2D((150, 70), -6.0, 1.0)  # clockwise on screen: the row falls to the right
    tilted = cv2.warpAffine(plate, matrix, (300, 140), borderValue=(225, 225, 225))
    row = find_character_row(tilted)
    assert row is not None and 4.0 <= row.angle_deg <= 8.0
    level = find_character_row(cut_to_row(tilted, row))
    assert level is not None and abs(level.angle_deg) < 2.0


def test_two_line_plate_becomes_one_line() -> None:
    plate = two_line("123", "ABC02")
    row = find_character_row(plate)
    assert row is not None and row.second is not None
    line = cut_to_row(plate, row)
    assert line.shape[1] > 1.5 * line.shape[0] * 2  # two rows side by side: a long, low strip


def test_reader_keeps_the_registration_and_drops_extra_lines(reader_any: PlateReader) -> None:
    reads = reader_any.read_batch(
        [us_style("ASV9218"), us_style("5VCF203", "CALIFORNIA", "DMV.CA.GOV"), two_line("123", "ABC02")]
    )
    assert [r.text for r in reads] == ["ASV9218", "5VCF203", "123ABC02"]
    assert reads[0].text_rows >= 2 and 40 <= reads[0].char_height <= 50
