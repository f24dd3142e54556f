"""Graph surgery on exported Ultralytics YOLOv8 detectors (``yolov8n.onnx``, ``platedet.onnx``).

Three rewrites, each on an ``onnx.ModelProto`` in memory (the packaged files are never changed):

- ``to_float32``: platedet ships entirely in float16 (input included); onnxruntime's static quantiser and the
  size rewrite want float32, so every float16 initialiser, cast target and declared type becomes float32.
- ``at_input_size``: the export fixes the input at 640x640 and bakes 8,400 anchors into the decoding head (the DFL
  reshapes, the anchor-point and stride constants). The rewrite regenerates them for another square side (a multiple
  of 32), so a small plate search area runs a small network instead of being upscaled to 640.
- ``head_nodes``: the decoding head (reshapes, DFL softmax, anchor arithmetic, the final concat of box pixels with
  0-1 scores). Quantising it would put box coordinates and scores on one int8 scale, so the quantiser skips it.
"""

from __future__ import annotations

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import numpy_helper

HEAD_PREFIX = "/model.22/"
_BRANCHES = ("/cv2.", "/cv3.", "/cv4.", "/proto/")  # the head's conv branches (quantised like the backbone)
STRIDES = (8, 16, 32)
BASE_SIZE = 640


def anchor_count(size: int) -> int:
    """Anchors of a YOLOv8 head at a square input side (8,400 at 640)."""
    return sum((size // s) ** 2 for s in STRIDES)


def anchors(size: int) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """(2, A) anchor centres in grid units of their level and (A,) strides, in Ultralytics' order."""
    points, strides = [], []
    for stride in STRIDES:
        side = size // stride
        ys, xs = np.meshgrid(np.arange(side) + 0.5, np.arange(side) + 0.5, indexing="ij")
        points.append(np.stack([xs.ravel(), ys.ravel()]))
        strides.append(np.full(side * side, stride))
    return np.concatenate(points, axis=1).astype(np.float32), np.concatenate(strides).astype(np.float32)


def head_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the decoding-head nodes (everything in the detect layer but its conv branches)."""
    return [
        n.name
        for n in model.graph.node
        if n.name.startswith(HEAD_PREFIX) and not any(b in n.name for b in _BRANCHES) and n.op_type != "Conv"
    ] + [n.name for n in model.graph.node if n.name.startswith(HEAD_PREFIX + "dfl/")]


def to_float32(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy with every float16 tensor, cast and declared type turned into float32."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    f16, f32 = onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT
    for init in out.graph.initializer:
        if init.data_type == f16:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float32), init.name))
    for node in out.graph.node:
        for attr in node.attribute:
            if node.op_type == "Cast" and attr.name == "to" and attr.i == f16:
                attr.i = f32
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == f16:
                attr.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(attr.t).astype(np.float32)))
    for value in [*out.graph.input, *out.graph.output, *out.graph.value_info]:
        if value.type.tensor_type.elem_type == f16:
            value.type.tensor_type.elem_type = f32
    return out


def at_input_size(model: onnx.ModelProto, size: int) -> onnx.ModelProto:
    """A copy whose input is [1, 3, size, size], with the head's anchor constants regenerated for that side.

    Raises:
        ValueError: ``size`` is not a multiple of 32, or the graph's constants are not the 640 layout expected.
    """
    if size % STRIDES[-1] or size < 2 * STRIDES[-1]:
        raise ValueError(f"input side {size} must be a multiple of 32 and at least 64")
    out = onnx.ModelProto()
    out.CopyFrom(model)
    base, new = anchor_count(BASE_SIZE), anchor_count(size)
    points, strides = anchors(BASE_SIZE)
    new_points, new_strides = anchors(size)
    for init in out.graph.initializer:
        value = numpy_helper.to_array(init)
        if value.ndim >= 1 and value.shape[-1] == base and value.size in (base, 2 * base):
            if value.size == base:
                replacement = new_strides.reshape(*value.shape[:-1], new)
                expected = strides
            else:
                replacement = new_points.reshape(*value.shape[:-1], new)
                expected = points
            if not np.allclose(value.reshape(expected.shape), expected):
                raise ValueError(f"{init.name}: not the YOLOv8 anchor layout expected at {BASE_SIZE}")
            init.CopyFrom(numpy_helper.from_array(replacement.astype(value.dtype), init.name))
        elif value.dtype == np.int64 and value.ndim == 1 and base in value.tolist():
            init.CopyFrom(numpy_helper.from_array(np.where(value == base, new, value), init.name))
    dims = out.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value, dims[3].dim_value = size, size
    del out.graph.value_info[:]
    for output in out.graph.output:
        for dim in output.type.tensor_type.shape.dim:
            if dim.dim_value in (base, BASE_SIZE // 4, BASE_SIZE // 8, BASE_SIZE // 16):
                dim.dim_param = f"d{dim.dim_value}"
    return out
