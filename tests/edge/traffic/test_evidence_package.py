"""Evidence that stands alone: the clip and its annotated copy (vehicle box drawn on a COPY, the originals
untouched and hashed), the calibration and track that recompute the speed, the signed HEAD, truncation caught."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.traffic.calibration import CalibrationConfig
from edge.traffic.evidence import (
    HEAD,
    EvidenceConfig,
    EvidenceContext,
    EvidenceFrame,
    EvidenceItem,
    build_package,
    head_body,
    key_paths,
    load_or_create_key,
    manifest_sha256,
)
from edge.traffic.evidence_clip import ClipError, ClipFrame, decode_clip, encode_clip, ffmpeg_exe, writable_codec
from edge.traffic.evidence_package import clip_indices, clock_status
from edge.traffic.evidence_recompute import recompute
from edge.traffic.evidence_verify import list_packages, verify_chain, verify_package
from edge.traffic.rules import evaluate_rules
from edge.traffic.speed import SpeedConfig, speed_from_track
from kuzet.contracts import ClockSource
from tests.edge.traffic.rules.conftest import SCENE, SIGNAL, make_track

CAMERA = "cam-clip-01"
SIZE = 400
MPP = 0.05
CALIBRATION = CalibrationConfig(
    version="flat-0.05",
    image_points=((0.0, 0.0), (400.0, 0.0), (400.0, 400.0), (0.0, 400.0)),
    road_points=((0.0, 0.0), (20.0, 0.0), (20.0, 20.0), (0.0, 20.0)),
    point_sigma_m=0.05,
    scale_sigma=0.02,
)
SPEED = SpeedConfig()


def box_of(x: float, y: float) -> tuple[float, float, float, float]:
    return x - 30.0, y - 50.0, x + 30.0, y


def render(x: float, y: float) -> np.ndarray:
    img = np.full((SIZE, SIZE, 3), 70, np.uint8)
    img[:, :, 0] = np.linspace(40, 120, SIZE, dtype=np.uint8)[None, :]
    x1, y1, x2, y2 = (int(v) for v in box_of(x, y))
    cv2.rectangle(img, (x1, y1), (x2, y2), (150, 60, 30), -1)
    return img


def measured_item(with_clip: bool) -> tuple[EvidenceItem, list[np.ndarray]]:
    track = make_track([(13.0, 150.0, 100.0), (17.0, 150.0, 380.0)], track_id=5)
    estimate = speed_from_track(track.t, track.image_xy, CALIBRATION, SPEED)
    boxes = np.array([box_of(x, y) for x, y in track.image_xy])
    track = dataclasses.replace(
        track, speed_kmh=estimate.speed_kmh, speed_sigma_kmh=estimate.sigma_kmh, boxes_xyxy=boxes
    )
    (violation,) = evaluate_rules([track], SCENE, SIGNAL)
    assert track.frame_index is not None
    images = {int(i): render(*track.image_xy[k]) for k, i in enumerate(track.frame_index)}
    at = violation.index
    frames = [
        EvidenceFrame(role, int(track.frame_index[i]), float(track.t[i]), images[int(track.frame_index[i])])
        for role, i in (("before", at - 5), ("at", at), ("after", at + 5))
    ]
    config = EvidenceConfig(chain_dir=Path("."), key_dir=Path("."), clip_s=1.0, preview_width=200)
    clip = [ClipFrame(i, float(track.t[i]), images[i]) for i in clip_indices(violation, track, config)]
    originals = [c.image.copy() for c in clip]
    item = EvidenceItem(violation, track, SCENE, frames, clip=clip if with_clip else ())
    return item, originals


def write(root: Path, item: EvidenceItem) -> Path:
    config = EvidenceConfig(chain_dir=root / "chain", key_dir=root / "keys", clip_s=1.0, preview_width=200)
    context = EvidenceContext(CAMERA, ClockSource.NTP, CALIBRATION.version, calibration=CALIBRATION, speed=SPEED)
    return build_package(item, context, config)


@pytest.fixture(scope="module")
def clipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, EvidenceItem, list[np.ndarray], str]:
    root = tmp_path_factory.mktemp("clip")
    item, originals = measured_item(with_clip=True)
    package = write(root, item)
    return package, item, originals, key_paths(root / "keys", CAMERA)[1].read_text().strip()


def test_the_clip_spans_the_offence_and_its_original_frames_stay_untouched(
    clipped: tuple[Path, EvidenceItem, list[np.ndarray], str],
) -> None:
    package, item, originals, trusted = clipped
    assert verify_package(package, trusted) == []
    manifest = json.loads((package / "manifest.json").read_text())
    files = {f["role"]: f for f in manifest["files"]}
    assert files["clip"]["media_type"] == files["clip_annotated"]["media_type"] == "video/mp4"
    expected = "h264" if ffmpeg_exe() is not None else writable_codec(("avc1", "H264", "mp4v"))  # the codec used
    assert manifest["clip"]["codecs"] == {"clip.mp4": expected, "clip_annotated.mp4": expected}
    recorded = manifest["clip"]["frames"]
    assert len(recorded) == len(originals) == 21  # 1 s either side at 10 Hz
    assert [r["pixels_sha256"] for r in recorded] == [hashlib.sha256(o.tobytes()).hexdigest() for o in originals]
    assert all(np.array_equal(c.image, o) for c, o in zip(item.clip, originals, strict=True))  # never drawn on
    assert len(decode_clip((package / "clip.mp4").read_bytes())) == len(originals)
    preview = decode_clip((package / "clip_annotated.mp4").read_bytes())
    assert len(preview) == len(originals) and preview[0].shape[1] == 200


def _green(image: np.ndarray, x: int, y: int) -> bool:
    b, g, r = (int(v) for v in image[y, x])
    return g > 180 and r < 100 and b < 100


def test_the_vehicle_box_is_drawn_on_the_annotated_copy_only(
    clipped: tuple[Path, EvidenceItem, list[np.ndarray], str],
) -> None:
    package, item, _, _ = clipped
    at = item.violation.index
    x1, y1, x2, _ = (round(float(v)) for v in item.track.boxes_xyxy[at])  # type: ignore[index]
    annotated = cv2.imread(str(package / "annotated_at.jpg"))
    original = cv2.imread(str(package / "frame_01_at.jpg"))
    top_edge = [((x1 + x2) // 2 + dx, y1) for dx in (-10, 0, 10)]
    assert all(_green(annotated, x, y) for x, y in top_edge)
    assert not any(_green(original, x, y) for x, y in top_edge)
    track = json.loads((package / "track.json").read_text())
    assert len(track["boxes_xyxy"]) == len(track["t"]) == len(track["image_xy"])


def test_the_speed_is_recomputed_from_the_package_alone(
    clipped: tuple[Path, EvidenceItem, list[np.ndarray], str], tmp_path: Path
) -> None:
    package, item, _, _ = clipped
    result = recompute(package)
    assert result.problems == () and result.speed_kmh == pytest.approx(item.track.speed_kmh, abs=1e-9)
    assert result.sigma_kmh == pytest.approx(item.track.speed_sigma_kmh, abs=1e-9)
    manifest = json.loads((package / "manifest.json").read_text())
    assert manifest["calibration"]["config"]["point_sigma_m"] == 0.05
    assert manifest["calibration"]["reprojection"]["rms_m"] < 1e-6
    copy = tmp_path / package.name
    shutil.copytree(package, copy)
    manifest["speed"]["kmh"] += 5.0  # an insider holding the camera key re-signs a faster speed
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    (copy / "manifest.json").write_bytes(body)
    key = load_or_create_key(package.parent.parent / "keys", CAMERA)
    (copy / "manifest.sig").write_text(key.sign(body).hex())
    assert verify_package(copy, manifest["public_key"]) == []  # the signature cannot catch it...
    assert any("stated speed" in p for p in recompute(copy).problems)  # ...the recomputation does


@pytest.fixture
def chain(tmp_path: Path) -> tuple[Path, str, list[str]]:
    """Three packages (no clip), the key, and a copy of HEAD after each."""
    item, _ = measured_item(with_clip=False)
    heads = []
    for _ in range(3):
        write(tmp_path, item)
        heads.append((tmp_path / "chain" / HEAD).read_text())
    return tmp_path / "chain", key_paths(tmp_path / "keys", CAMERA)[1].read_text().strip(), heads


def _truncate_to_two(chain_dir: Path) -> Path:
    shutil.rmtree(list_packages(chain_dir)[-1])
    return list_packages(chain_dir)[-1]


def test_truncating_and_rewriting_head_without_the_camera_key_is_detected(chain: tuple[Path, str, list[str]]) -> None:
    chain_dir, trusted, _ = chain
    last = _truncate_to_two(chain_dir)
    (chain_dir / HEAD).write_text(json.dumps({"seq": 2, "manifest_sha256": manifest_sha256(last)}))
    assert any("HEAD is unsigned" in p for p in verify_chain(chain_dir))  # even without the trusted key
    body = head_body(2, manifest_sha256(last), CAMERA, trusted)
    other = Ed25519PrivateKey.generate().sign(body).hex()
    (chain_dir / HEAD).write_text(json.dumps({**json.loads(body), "signature": other}))
    assert any("HEAD signature does not verify" in p for p in verify_chain(chain_dir, trusted))


def test_replaying_an_old_signed_head_is_caught_by_the_backend_anchor(chain: tuple[Path, str, list[str]]) -> None:
    chain_dir, trusted, heads = chain
    newest = json.loads(heads[-1])
    _truncate_to_two(chain_dir)
    (chain_dir / HEAD).write_text(heads[1])  # the HEAD the camera itself signed when package 2 was newest
    assert verify_chain(chain_dir, trusted) == []  # self-consistent: only an anchor outside the device can tell
    problems = verify_chain(chain_dir, trusted, (newest["seq"], newest["manifest_sha256"]))
    assert problems == [
        "chain: the chain ends at sequence 2 but the backend anchored sequence 3: the newest package(s) were"
        " removed (truncation or rollback)"
    ]


def test_clock_status_never_assumes_a_good_sync(tmp_path: Path) -> None:
    assert clock_status(ClockSource.FILE).synced is None
    flag = tmp_path / "synchronized"
    assert clock_status(ClockSource.NTP, flag).synced is None
    flag.touch()
    status = clock_status(ClockSource.NTP, flag)
    assert status.synced is True and status.last_sync_at is not None


def test_no_available_codec_is_an_error_not_an_empty_clip() -> None:
    assert writable_codec(("nope",)) is None
    with pytest.raises(ClipError, match="none of the codecs"):
        encode_clip([np.zeros((32, 32, 3), np.uint8)], 10.0, ("nope",))
