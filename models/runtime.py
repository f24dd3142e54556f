"""The ONNX runner: the only place that builds an onnxruntime session.

Model classes (face detector, vehicle detector, plate reader, ...) receive a ``Runner`` and never open a session
themselves, so a backend swap or a thread-count change is configuration, not code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray
from pydantic import Field

from kuzet.config import StrictModel

logger = logging.getLogger(__name__)

_DTYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(uint8)": np.uint8,
}


class ModelError(RuntimeError):
    """A model file is missing or does not have the inputs/outputs its model class needs."""


class RunnerConfig(StrictModel):
    """How one onnxruntime session runs on the device."""

    intra_op_threads: int = Field(default=1, ge=1, le=64, description="Threads inside one operator")
    inter_op_threads: int = Field(default=1, ge=1, le=16, description="Operators run in parallel")
    warmup_runs: int = Field(default=1, ge=0, le=20, description="Dummy inferences at load (static shapes only)")
    log_severity: int = Field(default=3, ge=0, le=4, description="onnxruntime log level (3 = errors only)")


def package_file(package: str, relative: str) -> Path:
    """Locate a file shipped inside an installed package without importing the package.

    Raises:
        ModelError: the package is not installed or does not contain the file.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"package {package!r} is not installed; run `make setup`")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise ModelError(f"{package!r} has no file {relative!r} (looked at {path})")
    return path


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, for evidence manifests and reports."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


Precision = Literal["float32", "int8"]
"""A model's arithmetic: the packaged float weights, or the int8 model ``kuzet quantize`` built from them."""

QUANTISED_SUFFIX = ".int8.onnx"
MANIFEST_SUFFIX = ".int8.json"
INT8_DIR_ENV = "KUZET_MODEL_CACHE"


def default_int8_dir() -> Path:
    """Where ``kuzet quantize`` writes and models look for int8 files: ``$KUZET_MODEL_CACHE`` or ``var/models``."""
    configured = os.environ.get(INT8_DIR_ENV)
    return Path(configured) if configured else Path(__file__).resolve().parents[1] / "var" / "models"


def int8_model_path(name: str, source: Path, folder: Path | None = None) -> Path:
    """The int8 model ``kuzet quantize`` built for ``name`` from ``source``.

    Raises:
        ModelError: it was never built, or was built from another source file (its manifest's SHA-256 differs).
    """
    folder = folder or default_int8_dir()
    path = folder / f"{name}{QUANTISED_SUFFIX}"
    manifest = folder / f"{name}{MANIFEST_SUFFIX}"
    hint = f"run `kuzet quantize --model {name} --out {folder}`"
    if not path.is_file() or not manifest.is_file():
        raise ModelError(f"{name}: precision int8 selected but {path} is not built; {hint}")
    recorded = json.loads(manifest.read_text(encoding="utf-8")).get("source_sha256")
    if recorded != sha256_file(source):
        raise ModelError(f"{name}: {path} was quantised from another {source.name} (sha256 differs); {hint}")
    logger.info("%s: int8 model %s", name, path)
    return path


class Runner:
    """Owns one CPU onnxruntime session; checks names at load and warms up.

    Args:
        model: path of an ``.onnx`` file, or serialized model bytes (for graphs rewritten at load).
        config: thread counts and warm-up.
        inputs: input names the caller will feed; a mismatch raises ``ModelError`` naming both sides.
        outputs: output names the caller will read (a subset of the model's outputs is fine).
        name: a label for logs and errors.
        session_config: onnxruntime session config entries a model class needs (e.g. SFace's
            ``session.disable_quant_qdq``), set before the session is built.
    """

    def __init__(
        self,
        model: Path | bytes,
        config: RunnerConfig | None = None,
        inputs: Sequence[str] | None = None,
        outputs: Sequence[str] | None = None,
        name: str | None = None,
        session_config: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config or RunnerConfig()
        self.name = name or (model.name if isinstance(model, Path) else "in-memory model")
        if isinstance(model, Path) and not model.is_file():
            raise ModelError(f"{self.name}: model file {model} does not exist")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.config.intra_op_threads
        options.inter_op_num_threads = self.config.inter_op_threads
        options.log_severity_level = self.config.log_severity
        for key, value in (session_config or {}).items():
            options.add_session_config_entry(key, value)
        source = str(model) if isinstance(model, Path) else model
        self.session = ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        self._check("input", inputs, self.input_names, exact=True)
        self._check("output", outputs, self.output_names, exact=False)
        self._outputs = list(outputs) if outputs else self.output_names
        self.metadata: Mapping[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        for _ in range(self.config.warmup_runs if self._static_inputs() else 0):
            self.run(self._dummy_feeds())

    def _check(self, kind: str, wanted: Sequence[str] | None, actual: list[str], exact: bool) -> None:
        if wanted is None:
            return
        missing = sorted(set(wanted) - set(actual))
        extra = sorted(set(actual) - set(wanted)) if exact else []
        if missing or extra:
            raise ModelError(
                f"{self.name}: model {kind}s are {actual}, expected {list(wanted)}"
                f" (missing {missing}, unexpected {extra}); is this the right model file?"
            )

    def _static_inputs(self) -> bool:
        return all(all(isinstance(d, int) for d in i.shape) for i in self.session.get_inputs())

    def _dummy_feeds(self) -> dict[str, NDArray[Any]]:
        return {
            i.name: np.zeros([int(d) for d in i.shape], dtype=_DTYPES.get(i.type, np.float32))
            for i in self.session.get_inputs()
        }

    def input_shape(self, name: str | None = None) -> list[int | str | None]:
        """Declared shape of an input (symbolic dims are strings or None)."""
        inputs = {i.name: i for i in self.session.get_inputs()}
        return list(inputs[name or self.input_names[0]].shape)

    def run(self, feeds: Mapping[str, NDArray[Any]]) -> list[NDArray[Any]]:
        """Run one inference; returns the requested outputs in order."""
        result = self.session.run(self._outputs, dict(feeds))
        return [np.asarray(r) for r in result]
