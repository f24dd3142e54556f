"""``kuzet eval masks --grey``: the IR / night-mode variant, and ``unknown`` answers counted (labels.csv layout)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from click.testing import CliRunner

from kuzet.cli import main

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "faces"


@pytest.fixture(scope="module")
def mask_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two bare faces (kit_with_rose.jpg), a third copy of the photo made too dark to judge."""
    root = tmp_path_factory.mktemp("masks_grey")
    image = cv2.imread(str(SAMPLES / "kit_with_rose.jpg"))
    cv2.imwrite(str(root / "pair.jpg"), image)
    cv2.imwrite(str(root / "dark.jpg"), image // 12)
    rows = ["image,x1,y1,x2,y2,label", "pair.jpg,261,77,355,206,without_mask", "pair.jpg,82,114,157,213,without_mask"]
    rows.append("dark.jpg,261,77,355,206,without_mask")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.mark.parametrize("grey", [False, True], ids=["colour", "grey"])
def test_eval_masks_grey_variant_and_unknown(mask_csv: Path, grey: bool) -> None:
    args = ["eval", "masks", "--data", str(mask_csv), "--json"] + (["--grey"] if grey else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["grey"] is grey and figures["n"] == 3
    assert figures["unknown"] == 1  # the dark copy: not judged, and counted as not recalled
    assert figures["recall_no_mask"] == pytest.approx(2 / 3) and figures["accuracy_judged"] == 1.0
    assert 0.0 < figures["threshold"] < 1.0 and 0.0 < figures["threshold_grey"] < 1.0
