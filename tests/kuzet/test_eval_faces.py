"""``kuzet eval faces`` / ``kuzet eval masks`` follow the EVAL.md contract on tiny folders built from samples."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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


@pytest.mark.parametrize("command", ["faces"])
def test_eval_bad_folder_exits_2_with_one_line(tmp_path: Path, command: str) -> None:
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "missing", tmp_path / "empty"):
        code, out, err = _run(["eval", command, "--data", str(folder), "--json"])
        assert code == 2 and out == ""
        assert len(err.strip().splitlines()) == 1 and str(folder) in err
