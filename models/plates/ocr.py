"""``PlateReader``: plate crops in, plate text with per-character confidences out.

The PP-OCRv6 recogniser (CRNN/CTC, 18,710 classes) is called directly through a ``Runner``: every crop is read in
several variants (as is, left country strip removed, colour marks painted over, cut to the tallest character row,
cut to the crop's middle band) in ONE batched inference; the CTC greedy decode is restricted to the plate alphabet
(each plate character collects the probability of its upper-case, lower-case and full-width forms; everything else
is one "other" class that never emits), and the most confident variant wins. Text rules follow: generic confusable
fixes where a common template asks, or the Kazakhstan grammar with ``region="kz"``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from models.image import as_bgr
from models.plates import kz
from models.plates.config import PlateReaderConfig
from models.plates.rectify import CharacterRow, cut_to_row, find_character_row
from models.plates.text import fix_by_common_templates, fix_confusables_generic
from models.runtime import ModelError, Runner, package_file

logger = logging.getLogger(__name__)

RECOGNISER_PACKAGE = "rapidocr"
RECOGNISER_FILE = "models/PP-OCRv6_rec_small.onnx"
INPUT_NAME = "x"


@dataclass(frozen=True, slots=True)
class PlateRead:
    """One plate read.

    Attributes:
        text: final plate text (alphabet characters only, no separators).
        raw: the decoder's text before any confusable fix or grammar.
        char_confidence: (len(text),) float32 per-character confidence in [0, 1].
        confidence: mean character confidence (0 for an empty read).
        variant: which crop variant produced the read ("full", "strip", "contrast", "clean", "clean_strip").
        valid: True/False when a grammar applied (fits a format or not), None without grammar.
        plate_format: name of the matched grammar format, or None.
        region: region name of a matched national plate, or None.
        char_height: median height (crop pixels) of the registration row's characters, 0 when no row was seen.
        text_rows: rows of character shapes seen in the crop (more than 1: extra text lines), 0 when none.
    """

    text: str
    raw: str
    char_confidence: NDArray[np.float32] = field(repr=False)
    confidence: float
    variant: str
    valid: bool | None = None
    plate_format: str | None = None
    region: str | None = None
    char_height: float = 0.0
    text_rows: int = 0


def class_groups(charset: Sequence[str], alphabet: str) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Model class indices collected per alphabet character.

    Args:
        charset: the model's characters, index 0 = CTC blank.
        alphabet: the plate characters.

    Returns:
        ``(indices, starts)``: flat class indices grouped by alphabet character and each group's start, for
        ``np.add.reduceat`` over the class axis.
    """
    position = {ch: i for i, ch in enumerate(charset) if i > 0}
    indices: list[int] = []
    starts: list[int] = []
    for ch in alphabet:
        forms = dict.fromkeys([ch, ch.lower(), chr(ord(ch) + 0xFEE0)])
        group = [position[f] for f in forms if f in position]
        if not group:
            raise ModelError(f"recogniser charset lacks plate character {ch!r}")
        starts.append(len(indices))
        indices.extend(group)
    return np.asarray(indices, np.int64), np.asarray(starts, np.int64)


def find_strip_end(image: NDArray[np.uint8], max_fraction: float, column_fraction: float) -> int:
    """Column where a coloured (blue) country band on the left ends; 0 when there is none.

    Args:
        image: (H, W, 3) BGR plate crop.
        max_fraction: widest band searched, as a fraction of W.
        column_fraction: share of blue pixels that makes a column part of the band.
    """
    width = image.shape[1]
    limit = max(1, int(width * max_fraction))
    hsv = cv2.cvtColor(image[:, :limit], cv2.COLOR_BGR2HSV)
    blue = (hsv[..., 0] >= 95) & (hsv[..., 0] <= 130) & (hsv[..., 1] >= 90) & (hsv[..., 2] >= 50)
    columns = blue.mean(axis=0) >= column_fraction
    if not columns.any():
        return 0
    last = int(np.nonzero(columns)[0][-1])
    return last + 1 if columns[: last + 1].mean() >= 0.5 else 0


def remove_strip(image: NDArray[np.uint8], config: PlateReaderConfig) -> NDArray[np.uint8]:
    """The crop without its left country strip: cut at a detected blue band, else a fixed fraction."""
    end = find_strip_end(image, config.strip_max, config.strip_column_fraction)
    cut = end if end > 0 else int(image.shape[1] * config.strip_cut)
    return image[:, cut:] if image.shape[1] - cut >= 8 else image


def paint_colour(image: NDArray[np.uint8], config: PlateReaderConfig) -> NDArray[np.uint8]:
    """Paint saturated marks (inspection stickers, emblems, coloured strips) with the plate background.

    Characters are dark and grey; stickers between them are coloured and read as a spurious character (two stacked
    circles look like an ``8``). Pixels both brighter than ``clean_value`` and more saturated than
    ``clean_saturation`` (and 3x the plate's median saturation) are replaced by the bright background colour.
    """
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    saturation = hsv[..., 1].astype(np.float32)
    threshold = max(config.clean_saturation, 3.0 * float(np.median(saturation)))
    mask = (saturation > threshold) & (hsv[..., 2] > config.clean_value)
    mask = cv2.dilate(mask.astype(np.uint8), np.ones((config.clean_dilate, config.clean_dilate), np.uint8)) > 0
    if mask.mean() > config.clean_max_fraction:
        return image
    if config.clean_fill_boxes:
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
        for x, y, w, h, _area in stats[1:count]:
            mask[y : y + h, x : x + w] = True
    out = image.copy()
    out[mask] = np.percentile(image.reshape(-1, 3), 80, axis=0).astype(np.uint8)
    return out


def stretch_contrast(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """CLAHE on the lightness channel."""
    lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(2, 8)).apply(lab[..., 0])
    return np.asarray(cv2.cvtColor(lab, cv2.COLOR_LAB2BGR), np.uint8)


def cut_band(image: NDArray[np.uint8], rows: tuple[float, float]) -> NDArray[np.uint8]:
    """The crop's middle rows ``rows`` (fractions of its height); the crop itself when the band is under 8 px.

    A plate crop (a detector box or a labelled box with a margin) has the registration across its middle and the
    frame, state name, slogan or dealer text at its top and bottom. The row variant finds the registration from
    character shapes; on a blurred or small crop it sees none, and this fixed cut is what drops the rest instead.
    On a crop the characters fill, the band clips them and its read loses to the others on confidence.
    """
    height = image.shape[0]
    top, bottom = int(rows[0] * height + 1e-6), int(np.ceil(rows[1] * height - 1e-6))
    return image[top:bottom] if bottom - top >= 8 else image


def crop_variants(
    image: NDArray[np.uint8], config: PlateReaderConfig, row: CharacterRow | None = None
) -> list[NDArray[np.uint8]]:
    """The crop variants of one plate, in ``config.variants`` order (``row``: the crop's character row, found here
    when not given and the ``row`` variant is asked for)."""
    out: list[NDArray[np.uint8]] = []
    if row is None and "row" in config.variants:
        row = find_character_row(image, config.row_min_chars)
    for name in config.variants:
        if name == "row":
            out.append(cut_to_row(image, row))
        elif name == "full":
            out.append(image)
        elif name == "strip":
            out.append(remove_strip(image, config))
        elif name == "clean":
            out.append(paint_colour(image, config))
        elif name == "clean_strip":
            out.append(paint_colour(remove_strip(image, config), config))
        elif name == "band":
            out.append(cut_band(image, config.band_rows))
        else:
            out.append(stretch_contrast(image))
    return out


def resize_crop(
    crop: NDArray[np.uint8], height: int, max_width: int, side_pad: float, step: int
) -> NDArray[np.float32]:
    """One crop as (3, height, W) float32 in [-1, 1]: resized keeping aspect, side borders, zero-padded to a
    multiple of ``step`` (the padding depends on the crop alone, so a read never depends on its batch)."""
    h, w = crop.shape[:2]
    new_w = int(np.clip(round(height * w / max(h, 1)), 8, max_width))
    image = cv2.resize(crop, (new_w, height), interpolation=cv2.INTER_LINEAR)
    pad = round(side_pad * height)
    if pad:
        image = cv2.copyMakeBorder(image, 0, 0, pad, pad, cv2.BORDER_REPLICATE)
    width = -(-image.shape[1] // step) * step
    out = np.zeros((3, height, width), np.float32)
    out[:, :, : image.shape[1]] = image.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0
    return out


def ctc_decode(
    probs: NDArray[np.float32], indices: NDArray[np.int64], starts: NDArray[np.int64], alphabet: str
) -> list[tuple[str, NDArray[np.float32]]]:
    """Greedy CTC decode restricted to the plate alphabet.

    Args:
        probs: (N, T, C) softmax output, class 0 = blank.
        indices, starts: from ``class_groups``.
        alphabet: plate characters, in group order.

    Returns:
        Per row, the text and (len,) per-character confidences (the best frame of each character run).
    """
    grouped = np.add.reduceat(probs[:, :, indices], starts, axis=2)  # (N, T, A)
    blank = probs[:, :, :1]
    other = np.clip(1.0 - blank - grouped.sum(axis=2, keepdims=True), 0.0, 1.0)
    full = np.concatenate([blank, grouped, other], axis=2)  # blank=0, alphabet=1..A, other=A+1
    best = full.argmax(axis=2)
    score = full.max(axis=2)
    labels = np.array(["", *alphabet, ""], dtype=object)
    emit = (best > 0) & (best <= len(alphabet))
    new_run = np.ones_like(best, bool)
    new_run[:, 1:] = best[:, 1:] != best[:, :-1]
    run_id = np.cumsum(new_run, axis=1) - 1
    out: list[tuple[str, NDArray[np.float32]]] = []
    for row in range(len(best)):
        run_best = np.zeros(int(run_id[row, -1]) + 1, np.float32)
        np.maximum.at(run_best, run_id[row], score[row])
        starts_row = new_run[row] & emit[row]
        text = "".join(labels[best[row, starts_row]])
        out.append((text, run_best[run_id[row, starts_row]]))
    return out


class PlateReader:
    """Reads plate crops with the PP-OCR recogniser.

    Args:
        runner: session of the recogniser ONNX (input ``x``, charset in metadata key ``character``).
        config: pre/post-processing settings.
    """

    def __init__(self, runner: Runner, config: PlateReaderConfig) -> None:
        if "character" not in runner.metadata:
            raise ModelError(f"{runner.name}: no 'character' metadata; is this a PP-OCR recogniser?")
        charset = ["<blank>", *runner.metadata["character"].splitlines(), " "]
        self.runner = runner
        self.config = config
        self._indices, self._starts = class_groups(charset, config.alphabet)

    def read(self, crop: NDArray[np.uint8]) -> PlateRead:
        """Read one (H, W, 3) BGR crop."""
        return self.read_batch([crop])[0]

    def read_batch(self, crops: Sequence[NDArray[np.uint8]]) -> list[PlateRead]:
        """Read plate crops ((H, W, 3) BGR; grey and BGRA are converted); every variant of every crop is read,
        inputs of equal padded width sharing an inference. Crops smaller than 4 px give an empty read."""
        usable = [i for i, c in enumerate(crops) if c.ndim in (2, 3) and c.size and min(c.shape[:2]) >= 4]
        results: list[PlateRead] = [_empty_read() for _ in crops]
        if not usable:
            return results
        n_var = len(self.config.variants)
        bgr = [np.ascontiguousarray(as_bgr(crops[i]), dtype=np.uint8) for i in usable]
        rows = [find_character_row(crop, self.config.row_min_chars) for crop in bgr]
        images = [v for crop, row in zip(bgr, rows, strict=True) for v in crop_variants(crop, self.config, row)]
        decoded = self.decode_images(images)
        for k, i in enumerate(usable):
            read = self.choose(decoded[k * n_var : (k + 1) * n_var])
            row = rows[k]
            results[i] = replace(read, char_height=row.char_height if row else 0.0, text_rows=row_count(row))
        return results

    def decode_images(self, images: list[NDArray[np.uint8]]) -> list[tuple[str, NDArray[np.float32]]]:
        """Decode every image; inputs of equal padded width share an inference (at most ``max_batch``)."""
        cfg = self.config
        tensors = [resize_crop(i, cfg.input_height, cfg.max_width, cfg.side_pad, cfg.width_step) for i in images]
        widths = np.asarray([t.shape[2] for t in tensors])
        decoded: list[tuple[str, NDArray[np.float32]]] = [("", np.zeros(0, np.float32))] * len(images)
        for width in np.unique(widths):
            same = np.nonzero(widths == width)[0]
            for start in range(0, len(same), cfg.max_batch):
                chunk = same[start : start + cfg.max_batch]
                probs = self.runner.run({INPUT_NAME: np.stack([tensors[i] for i in chunk])})[0]
                reads = ctc_decode(probs, self._indices, self._starts, cfg.alphabet)
                for i, read in zip(chunk, reads, strict=True):
                    decoded[int(i)] = read
        return decoded

    def choose(self, reads: list[tuple[str, NDArray[np.float32]]]) -> PlateRead:
        """Post-process each variant's read and keep the best (grammar-valid first, then most confident).

        A strip-cut read that only drops leading characters of the full read is taken only when those characters
        were unsure (below ``strip_char_confidence``): the cut must remove a strip, not a confident first letter.
        """
        names = list(self.config.variants)
        kept = list(zip(reads, names, strict=True))
        if "full" in names:
            full_text, full_conf = reads[names.index("full")]
            kept = [
                (read, name)
                for read, name in kept
                if name == "full" or not self._drops_sure_prefix(full_text, full_conf, read[0])
            ]
        candidates = [self._finish(text, conf, name) for (text, conf), name in kept]
        return max(candidates, key=lambda r: (r.valid is not False, r.confidence))

    def _drops_sure_prefix(self, full_text: str, full_conf: NDArray[np.float32], text: str) -> bool:
        """Whether ``text`` is ``full_text`` minus leading characters the full read was sure of."""
        dropped = len(full_text) - len(text)
        if dropped <= 0 or not full_text.endswith(text):
            return False
        return float(full_conf[:dropped].mean()) >= self.config.strip_char_confidence

    def _finish(self, raw: str, conf: NDArray[np.float32], variant: str) -> PlateRead:
        keep = conf >= self.config.min_char_confidence
        text = "".join(ch for ch, k in zip(raw, keep, strict=True) if k)
        conf = conf[keep].astype(np.float32)
        mean = float(conf.mean()) if len(conf) else 0.0
        if self.config.region == "kz":
            plate = kz.normalise(text, conf)
            return PlateRead(
                plate.text, raw, plate.char_confidence, mean, variant, plate.valid, plate.plate_format, plate.region
            )
        if self.config.final_letter_fix:
            text = fix_confusables_generic(text)
        if self.config.generic_confusables:
            text = fix_by_common_templates(text, self.config.template_swaps)
        return PlateRead(text, raw, conf, mean, variant)


def row_count(row: CharacterRow | None) -> int:
    """Rows of character shapes in a crop: the registration row plus the other rows seen, 0 when none."""
    return 0 if row is None else 1 + row.other_rows


def _empty_read() -> PlateRead:
    return PlateRead("", "", np.zeros(0, np.float32), 0.0, "none")


def build_plate_reader(config: PlateReaderConfig | None = None) -> PlateReader:
    """Open the configured recogniser file (default: the one shipped in the ``rapidocr`` package)."""
    config = config or PlateReaderConfig()
    path = config.model_path or package_file(RECOGNISER_PACKAGE, RECOGNISER_FILE)
    runner = Runner(path, config.runner, inputs=[INPUT_NAME], name="plate-recogniser")
    return PlateReader(runner, config)
