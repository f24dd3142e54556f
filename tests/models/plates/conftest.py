"""Shared fixtures of the plate tests: one real recogniser per session (loading it takes about a second)."""

from __future__ import annotations

import pytest

from models.plates.config import PlateReaderConfig
from models.plates.ocr import PlateReader, build_plate_reader


@pytest.fixture(scope="session")
def reader_any() -> PlateReader:
    """The real PP-OCRv6 recogniser, no grammar."""
    return build_plate_reader(PlateReaderConfig(region="any"))


@pytest.fixture(scope="session")
def reader_kz() -> PlateReader:
    """The real PP-OCRv6 recogniser with the Kazakhstan grammar."""
    return build_plate_reader(PlateReaderConfig(region="kz"))
