"""Markdown rendering of the light classifier's training report (``models/training/lights.py``)."""

from __future__ import annotations

from typing import Any


def _row(title: str, m: dict[str, Any]) -> str:
    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    recalls = " | ".join(fmt(m[f"recall_{c}"]) for c in ("red", "yellow", "green", "off"))
    return f"| {title} | {m['n']} | {m['accuracy']:.4f} | {recalls} | {m['red_as_green']} |"


def render_report(r: dict[str, Any]) -> str:
    """The report as Markdown."""
    sources = "\n".join(f"| {tag} | {v['n']} | {v['accuracy']:.4f} |" for tag, v in r["test_by_source"].items())
    return "\n".join(
        [
            "# Traffic-light state classifier: training report",
            "",
            "Written by `models/training/lights.py` (seeded; rerun: `.venv/bin/python -m models.training.lights`).",
            "",
            f"- Data: `{r['data']}`: lit heads from `lights/` (Udacity/MIT crops, CC BY-SA 4.0) with the folder's own"
            " split, and real `off` negatives from `models/training/lights_negatives.py` (unlit head sections,"
            " road video, car photos, plates, night/dusk-darkened crops); the test negatives come from files never"
            " used in training (`ozlu_vehicle_counting.mp4`, `scenes/nomeroff_ua`, `plates/openalpr_us_ocr`, the"
            " test split's heads). Not redistributed here.",
            f"- Train {r['train']}, test {r['test']}.",
            f"- Model: {r['model']}. Train cut into fit ({r['n_fit']}) and validation ({r['n_validation']},"
            f" stratified); candidate chosen on the validation cost (errors, red->green x5):"
            f" {r['validation_cost']} -> {r['chosen']}.",
            f"- Calibration: temperature T = {r['temperature']} fitted on validation (NLL), folded into the weights;"
            f" validation ECE {r['validation_ece_before']} -> {r['validation_ece_after']}. A calibrated top"
            f" probability below {r['min_confidence']} reads `unknown` (counted right only for `off`).",
            "- Features: 8x16 area-resized crop, per pixel V, S*V*cos(hue), S*V*sin(hue) and BGR/255.",
            f"- Artefact: `light_classifier.onnx`, {r['onnx_bytes']} bytes, sha256 `{r['onnx_sha256']}`.",
            f"- Training time: {r['train_seconds']} s on this CPU.",
            "",
            "## Test split (touched once)",
            "",
            "| set | n | accuracy | recall red | recall yellow | recall green | recall off | red->green |",
            "|---|---|---|---|---|---|---|---|",
            _row("lit heads (lights/test)", r["test_lit"]),
            _row("negatives (off)", r["test_off"]),
            _row("all", r["test_all"]),
            "",
            "Confusion, rows truth (red, yellow, green, off), columns prediction (red, yellow, green, off, unknown):"
            f" {r['test_all']['confusion']}.",
            "",
            "| test source | n | accuracy |",
            "|---|---|---|",
            sources,
            "",
            "Yellow has only 9 test crops, so its recall moves 0.11 per crop. Lit crops are daylight, vertical,",
            "mostly US lights: lit heads at night, horizontal or Kazakh signal heads are not measured.",
            "",
        ]
    )
