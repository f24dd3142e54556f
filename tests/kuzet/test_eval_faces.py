"""``kuzet eval faces`` / ``kuzet eval masks`` follow the EVAL.md contract on tiny folders built from samples."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from kuzet.cli import main

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "faces"


def _run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def identity_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faces")
    layout = {"obama": ["obama_small.jpg", "obama-240p.jpg"], "rose": ["rose_leslie.jpg", "rose_leslie.jpg"]}
    for identity, files in layout.items():
        (root / identity).mkdir()
        for i, name in enumerate(files, start=1):
            shutil.copy(SAMPLES / name, root / identity / f"{i}.jpg")
    (root / "rose" / "3.jpg").write_bytes(b"not a jpeg")
    return root


def test_eval_faces_json_keys(identity_tree: Path) -> None:
    code, out, _ = _run(["eval", "faces", "--data", str(identity_tree), "--enroll", "1", "--json"])
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    keys = {"identities", "probes", "rank1", "tar_at_far_1e-3", "threshold", "no_face", "ms_per_face", "unreadable"}
    assert keys <= set(result)
    assert result["identities"] == 2 and result["probes"] == 3 and result["unreadable"] == 1
    assert result["rank1"] == pytest.approx(2 / 3)  # the unreadable probe is a miss
    assert result["no_face"] == 1 and result["ms_per_face"] > 0
    # The door's own settings: its detector size, its operating threshold, and what still differs from a pass.
    from edge.school.config import SchoolConfig

    door = SchoolConfig(school_id="t")
    assert result["detector_input_px"] == door.detector.input_max_side
    assert result["door_threshold"] == door.identify.threshold and result["wrong_identities"] == 0
    assert 0.0 < result["identified_share"] <= result["rank1"]
    assert any("vote" in line for line in result["differs_from_door"])


@pytest.fixture(scope="module")
def mask_folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("masks")
    (root / "with_mask").mkdir()
    (root / "without_mask").mkdir()
    shutil.copy(SAMPLES / "obama_small.jpg", root / "without_mask" / "a.jpg")
    shutil.copy(SAMPLES / "rose_leslie.jpg", root / "without_mask" / "b.jpg")
    (root / "with_mask" / "broken.jpg").write_bytes(b"")
    cv2.imwrite(str(root / "with_mask" / "blank.png"), np.zeros((120, 160, 3), np.uint8))
    return root


@pytest.fixture(scope="module")
def mask_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("masks_csv")
    (root / "images").mkdir()
    shutil.copy(SAMPLES / "kit_with_rose.jpg", root / "images" / "pair.jpg")
    rows = [
        "image,x1,y1,x2,y2,label",
        "pair.jpg,261,77,355,206,without_mask",
        "pair.jpg,82,114,157,213,mask_weared_incorrect",
        "pair.jpg,10,10,20,20,with_mask",
        "gone.jpg,0,0,50,50,with_mask",
    ]
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def test_eval_masks_folders_json(mask_folders: Path) -> None:
    code, out, _ = _run(["eval", "masks", "--data", str(mask_folders), "--json"])
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    assert {"n", "accuracy", "precision_mask", "recall_mask", "no_face", "ms_per_image"} <= set(result)
    assert result["n"] == 4 and result["unreadable"] == 1 and result["no_face"] == 1
    assert result["accuracy"] == pytest.approx(0.5)  # two unmasked faces right, the two with_mask items are errors


def test_eval_masks_csv_json(mask_csv: Path) -> None:
    code, out, _ = _run(["eval", "masks", "--data", str(mask_csv), "--json"])
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    assert {"n", "skipped", "accuracy", "recall_mask", "recall_no_mask", "ms_per_face"} <= set(result)
    assert result["skipped"] == 1 and result["n"] == 3 and result["unreadable"] == 1
    assert result["recall_no_mask"] == 1.0 and result["accuracy"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("command", ["faces", "masks"])
def test_eval_bad_folder_exits_2_with_one_line(tmp_path: Path, command: str) -> None:
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "missing", tmp_path / "empty"):
        code, out, err = _run(["eval", command, "--data", str(folder), "--json"])
        assert code == 2 and out == ""
        assert len(err.strip().splitlines()) == 1 and str(folder) in err


def test_eval_masks_csv_without_box_columns_exits_2(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("image,label\na.jpg,with_mask\n")
    code, out, err = _run(["eval", "masks", "--data", str(tmp_path), "--json"])
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "x1" in err


def test_demo_lines_identify_the_sample_people() -> None:
    from tests.support.demos import faces_demo_lines

    lines = faces_demo_lines(SAMPLES.parent)
    assert len(lines) == 2
    assert "rose_leslie (" in lines[0] and "unknown (" in lines[0]  # Kit is not enrolled in the demo
    assert "obama (" in lines[1] and "mask=False" in lines[1]


@pytest.fixture(scope="module")
def orl_four(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four ORL identities, six images each (three enrol, three probe), plus an unreadable and a faceless probe."""
    from tests.conftest import require_data

    orl = require_data("faces/orl")
    root = tmp_path_factory.mktemp("orl4")
    for identity in ("s2", "s5", "s11", "s23"):
        (root / identity).mkdir()
        for i in range(1, 7):
            shutil.copy(orl / identity / f"{i}.pgm", root / identity / f"{i}.pgm")
    (root / "s2" / "7.pgm").write_bytes(b"not an image")  # a probe that cannot be read
    cv2.imwrite(str(root / "s5" / "7.png"), np.full((112, 92, 3), 128, np.uint8))  # a probe without a face
    return root


def test_eval_faces_masked_probes(orl_four: Path, tmp_path: Path) -> None:
    saved = tmp_path / "masked"
    args = ["eval", "faces", "--data", str(orl_four), "--masked-probes", "--save-masked", str(saved), "--json"]
    code, out, _ = _run(args)
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    assert {"masked", "identified_share", "wrong_identities", "door_threshold", "door_masked_threshold"} <= set(result)
    assert result["probes"] == 14 and result["masked"] == 12  # no mask where there is no face
    assert result["unreadable"] == 1  # counted as a miss, like the faceless one (no_face), never a crash
    assert 2 <= result["no_face"] <= 3  # at most one masked probe lost by the detector on its second look
    assert result["rank1"] >= 11 / 14 and result["wrong_identities"] == 0
    # At the door's gallery-scale thresholds (1,000 templates) fewer pass than rank 1; all of them are right.
    assert 4 / 14 <= result["identified_share"] <= result["rank1"]
    assert result["door_masked_threshold"] < result["door_threshold"]
    written = sorted(saved.rglob("*.png"))
    assert len(written) == 12
    masked = cv2.imread(str(written[0]))
    bare = cv2.imread(str(orl_four / written[0].parent.name / f"{written[0].stem}.pgm"))
    assert masked.shape == bare.shape
    changed = np.abs(masked.astype(int) - bare.astype(int)).max(axis=2) > 0
    rows = np.nonzero(changed.any(axis=1))[0]
    assert rows.min() > masked.shape[0] * 0.35  # the lower face only: the top of the picture (eyes) is untouched


def test_save_masked_needs_masked_probes(orl_four: Path, tmp_path: Path) -> None:
    code, _, err = _run(["eval", "faces", "--data", str(orl_four), "--save-masked", str(tmp_path), "--json"])
    assert code == 2 and "--masked-probes" in err
