"""Evidence packages: contents, camera keys, and every kind of tampering detected with a precise message."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.traffic.evidence import (
    GENESIS,
    EvidenceConfig,
    EvidenceContext,
    EvidenceFrame,
    EvidenceItem,
    HealthRecord,
    KeyFileError,
    PlateEvidence,
    build_package,
    key_paths,
    load_or_create_key,
    manifest_sha256,
    public_hex,
)
from edge.traffic.evidence_verify import list_packages, verify_chain, verify_package
from edge.traffic.rules import evaluate_rules
from kuzet.contracts import CameraHealthMeasures, CameraHealthState, ClockSource
from models.lights import default_model_path
from tests.edge.traffic.rules.conftest import SCENE, SIGNAL, make_track

CAMERA = "cam-test-01"


def frame(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 60, (400, 400, 3)).astype(np.uint8)
    cv2.rectangle(img, (120, 40 + 20 * seed), (180, 100 + 20 * seed), (200, 200, 200), -1)
    return img


def item(track_id: int) -> EvidenceItem:
    track = make_track([(13.0, 150.0, 100.0), (17.0, 150.0, 380.0)], track_id=track_id, speed=(45.0, 2.0))
    (violation,) = evaluate_rules([track], SCENE, SIGNAL)
    at = violation.index
    frames = [
        EvidenceFrame(role, int(track.frame_index[i]), float(track.t[i]), frame(k))  # type: ignore[index]
        for k, (role, i) in enumerate([("before", at - 5), ("at", at), ("after", at + 5)])
    ]
    plate = PlateEvidence(crop=np.full((30, 110, 3), 220, np.uint8), raw="123 ABC 02", normalised="123ABC02")
    return EvidenceItem(violation=violation, track=track, scene=SCENE, frames=frames, plate=plate)


@pytest.fixture
def chain(tmp_path: Path) -> tuple[Path, str]:
    """A chain of three intact packages and the camera's public key (hex)."""
    config = EvidenceConfig(chain_dir=tmp_path / "chain", key_dir=tmp_path / "keys")
    context = EvidenceContext(
        camera_id=CAMERA,
        clock_source=ClockSource.NTP,
        calibration_version="calib-2026-11-01",
        location="Abay Ave / Dostyk St",
        model_files={"light_classifier": default_model_path()},
    )
    for track_id in (1, 2, 3):
        build_package(item(track_id), context, config)
    return config.chain_dir, key_paths(config.key_dir, CAMERA)[1].read_text().strip()


def test_intact_chain_and_contents(chain: tuple[Path, str]) -> None:
    chain_dir, trusted = chain
    assert verify_chain(chain_dir, trusted) == []
    packages = list_packages(chain_dir)
    assert [p.name for p in packages] == ["00000001_red_light", "00000002_red_light", "00000003_red_light"]
    manifest = json.loads((packages[1] / "manifest.json").read_text())
    assert manifest["prev_manifest_sha256"] == manifest_sha256(packages[0])
    assert json.loads((packages[0] / "manifest.json").read_text())["prev_manifest_sha256"] == GENESIS
    assert manifest["public_key"] == trusted
    assert manifest["signal"] == {"state": "red", "source": "controller"}
    assert manifest["plate"]["raw"] == "123 ABC 02" and manifest["plate"]["normalised"] == "123ABC02"
    assert manifest["speed"] == {"kmh": 45.0, "sigma_kmh": 2.0, "config": None}
    assert manifest["calibration_version"] == "calib-2026-11-01"
    assert manifest["clock_source"] == "ntp" and manifest["camera_id"] == CAMERA
    assert len(manifest["models"]["light_classifier"]) == 64
    roles = sorted(f["role"] for f in manifest["files"])
    assert roles == sorted(["frame_before", "frame_at", "frame_after", "annotated", "plate_crop", "track", "scene"])
    track = json.loads((packages[1] / "track.json").read_text())
    assert track["track_id"] == 2 and len(track["t"]) == len(track["image_xy"])


def test_old_and_new_packages_verify_in_one_chain(tmp_path: Path) -> None:
    """Packages written before the tamper monitor carry no ``camera_health``; later ones of the same chain record
    the camera's health at the offence. Both verify; a signed but malformed health entry is reported."""
    config = EvidenceConfig(chain_dir=tmp_path / "chain", key_dir=tmp_path / "keys")
    context = EvidenceContext(camera_id=CAMERA, clock_source=ClockSource.NTP, calibration_version="calib-1")
    old = build_package(item(1), context, config)
    measures = CameraHealthMeasures(brightness=96.0, contrast=62.9, sharpness_ratio=0.98, shift_px=0.1)
    health = HealthRecord(CameraHealthState.HEALTHY, (), measures)
    new = build_package(dataclasses.replace(item(2), health=health), context, config)
    trusted = key_paths(config.key_dir, CAMERA)[1].read_text().strip()
    assert verify_chain(config.chain_dir, trusted) == []
    assert "camera_health" not in json.loads((old / "manifest.json").read_text())
    recorded = json.loads((new / "manifest.json").read_text())["camera_health"]
    assert recorded["state"] == "healthy" and recorded["active"] == []
    assert recorded["measures"]["sharpness_ratio"] == 0.98 and recorded["measures"]["rotation_deg"] is None
    manifest = json.loads((new / "manifest.json").read_text())
    manifest["camera_health"] = {"state": "sideways", "active": []}
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    (new / "manifest.json").write_bytes(body)
    (new / "manifest.sig").write_text(load_or_create_key(config.key_dir, CAMERA).sign(body).hex())
    assert verify_package(new, trusted) == ["00000002_red_light: manifest.json has malformed ['camera_health']"]


def flip_byte(package: Path, name: str) -> None:
    path = package / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def edit_plate(package: Path) -> None:
    manifest = json.loads((package / "manifest.json").read_text())
    manifest["plate"]["normalised"] = "777AAA02"
    (package / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))


def resign(package: Path, key: Ed25519PrivateKey, replace_public: bool) -> None:
    manifest = json.loads((package / "manifest.json").read_text())
    manifest["captured_at"] = "2026-11-23T02:00:00+00:00"
    if replace_public:
        manifest["public_key"] = public_hex(key)
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    (package / "manifest.json").write_bytes(body)
    (package / "manifest.sig").write_text(key.sign(body).hex())


def swap(a: Path, b: Path) -> None:
    tmp = a.with_name("swap")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)


TAMPERS: list[tuple[str, Callable[[list[Path]], None], list[str]]] = [
    ("flip a byte in a frame", lambda p: flip_byte(p[1], "frame_01_at.jpg"), ["file frame_01_at.jpg was modified"]),
    ("flip a byte in the track", lambda p: flip_byte(p[0], "track.json"), ["00000001_red_light: file track.json"]),
    ("flip a byte in the manifest", lambda p: flip_byte(p[2], "manifest.json"), ["00000003_red_light: manifest"]),
    (
        "edit the plate in the manifest",
        lambda p: edit_plate(p[0]),
        ["00000001_red_light: manifest signature is INVALID"],
    ),
    (
        "drop a file",
        lambda p: (p[1] / "plate_crop.jpg").unlink(),
        ["file plate_crop.jpg listed in the manifest is missing"],
    ),
    ("add a file", lambda p: (p[1] / "note.txt").write_text("x"), ["file note.txt is not listed"]),
    ("drop the signature", lambda p: (p[0] / "manifest.sig").unlink(), ["manifest.sig is missing"]),
    (
        "drop a package from the middle",
        lambda p: shutil.rmtree(p[1]),
        ["00000003_red_light: sequence 3 where 2 was expected (a package before it was removed)", "chain is broken"],
    ),
    ("drop the newest package", lambda p: shutil.rmtree(p[2]), ["newest package(s) removed or replaced"]),
    (
        "reorder two packages",
        lambda p: swap(p[0], p[1]),
        ["folder name says sequence 00000001, manifest says 2", "(packages reordered)", "chain is broken"],
    ),
    (
        "re-sign with another key",
        lambda p: resign(p[1], Ed25519PrivateKey.generate(), replace_public=True),
        ["not the camera's trusted key", "public_key", "chain is broken"],
    ),
    (
        "re-sign with another key, keep the public key",
        lambda p: resign(p[1], Ed25519PrivateKey.generate(), replace_public=False),
        ["signature is INVALID"],
    ),
]


@pytest.mark.parametrize(("name", "tamper", "messages"), TAMPERS, ids=[t[0] for t in TAMPERS])
def test_tampering_is_detected(
    chain: tuple[Path, str], name: str, tamper: Callable[[list[Path]], None], messages: list[str]
) -> None:
    chain_dir, trusted = chain
    tamper(list_packages(chain_dir))
    problems = verify_chain(chain_dir, trusted)
    text = "\n".join(problems)
    for message in messages:
        assert message in text, f"{name}: {message!r} not in {problems}"


def test_resigned_package_passes_alone_but_not_against_the_trusted_key(chain: tuple[Path, str]) -> None:
    chain_dir, trusted = chain
    last = list_packages(chain_dir)[-1]
    resign(last, Ed25519PrivateKey.generate(), replace_public=True)
    assert verify_package(last) == []  # self-consistent...
    assert any("not the camera's trusted key" in p for p in verify_package(last, trusted))  # ...but not ours


def test_key_file_is_private_and_reused(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "keys", CAMERA)
    private, public = key_paths(tmp_path / "keys", CAMERA)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.read_text().strip() == public_hex(key)
    assert public_hex(load_or_create_key(tmp_path / "keys", CAMERA)) == public_hex(key)
    os.chmod(private, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_or_create_key(tmp_path / "keys", CAMERA)
    os.chmod(private, 0o600)
    private.write_text("garbage")
    with pytest.raises(KeyFileError, match="not a PEM private key"):
        load_or_create_key(tmp_path / "keys", CAMERA)


def test_package_needs_the_frame_at_the_offence(tmp_path: Path) -> None:
    base = item(1)
    no_at = EvidenceItem(
        violation=base.violation,
        track=base.track,
        scene=base.scene,
        frames=[f for f in base.frames if f.role != "at"],
    )
    config = EvidenceConfig(chain_dir=tmp_path / "chain", key_dir=tmp_path / "keys")
    context = EvidenceContext(camera_id=CAMERA, clock_source=ClockSource.FILE, calibration_version="v0")
    with pytest.raises(ValueError, match="'at'"):
        build_package(no_at, context, config)
    assert not any((tmp_path / "chain").iterdir())  # nothing half-written


def test_violation_event_goes_into_a_real_spool(chain: tuple[Path, str], tmp_path: Path) -> None:
    from edge.spool import Spool
    from edge.traffic.evidence_verify import violation_event

    package = list_packages(chain[0])[0]
    event, media = violation_event(package)
    assert event.violation == "red_light" and event.signal_state == "red" and event.signal_source == "controller"
    assert event.evidence_sha256 == manifest_sha256(package)
    assert event.plate_normalised == "123ABC02" and event.speed_kmh == 45.0
    roles = {a.role for a in event.attachments}
    assert {"manifest", "signature", "frame_01_at", "plate_crop", "track"} <= roles
    assert {a.sha256 for a in event.attachments} == set(media)
    spool = Spool(tmp_path / "spool.sqlite")
    try:
        assert spool.put(event, media) is True
        assert spool.depth() == 1
    finally:
        spool.close()


def set_field(package: Path, key: str, value: object) -> None:
    manifest = json.loads((package / "manifest.json").read_text())
    manifest[key] = value
    (package / "manifest.json").write_text(json.dumps(manifest))


HOSTILE: list[tuple[str, Callable[[Path, list[Path]], None], str]] = [
    ("seq is text", lambda c, p: set_field(p[0], "seq", "one"), "malformed ['seq']"),
    ("files not a list", lambda c, p: set_field(p[1], "files", {"a": 1}), "malformed ['files']"),
    (
        "file path escapes",
        lambda c, p: set_field(p[1], "files", [{"name": "../x", "sha256": "0" * 64, "size": 1}]),
        "unsafe file name '../x'",
    ),
    ("unknown format", lambda c, p: set_field(p[2], "format", "other/9"), "unknown format 'other/9'"),
    ("manifest missing", lambda c, p: (p[0] / "manifest.json").unlink(), "manifest.json is missing"),
    ("HEAD is garbage", lambda c, p: (c / "HEAD").write_text("{"), "HEAD is malformed"),
    ("HEAD removed", lambda c, p: (c / "HEAD").unlink(), "HEAD is missing"),
]


@pytest.mark.parametrize(("name", "damage", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_malformed_evidence_is_reported_not_crashed(
    chain: tuple[Path, str], name: str, damage: Callable[[Path, list[Path]], None], message: str
) -> None:
    chain_dir, trusted = chain
    damage(chain_dir, list_packages(chain_dir))
    problems = verify_chain(chain_dir, trusted)
    assert any(message in p for p in problems), f"{name}: {problems}"
