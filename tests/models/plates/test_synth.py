"""Synthetic KZ plate generator: deterministic, valid texts, sane images."""

from __future__ import annotations

import numpy as np
import pytest

from models.plates import kz
from models.plates.synth import PLATE_SIZE, SynthConfig, generate, random_text, render


def test_generation_is_seeded() -> None:
    a, b = generate(4, seed=3), generate(4, seed=3)
    assert [p.text for p in a] == [p.text for p in b]
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b, strict=True))
    assert [p.text for p in generate(4, seed=4)] != [p.text for p in a]


@pytest.mark.parametrize("fmt", ["private", "legal"])
def test_random_texts_are_valid_kz_plates(fmt: str) -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        plate = kz.normalise(random_text(rng, fmt))
        assert plate.valid and plate.plate_format == fmt


def test_render_and_degrade_shapes() -> None:
    assert render("123ABC02").shape == (PLATE_SIZE[1], PLATE_SIZE[0], 3)
    plates = generate(3, seed=0, config=SynthConfig(out_height=32))
    assert all(p.image.shape[0] == 32 and p.image.dtype == np.uint8 for p in plates)
    assert all(p.image.shape[1] > 3 * 32 for p in plates)
