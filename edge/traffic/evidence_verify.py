"""Verification of evidence packages and chains; every problem is one precise, human-readable line.

``verify_package(path, trusted_key)`` checks the manifest signature, the key against a trusted public key,
and every file's presence, size and SHA-256 (and that no file was added); ``verify_uploaded(manifest, signature,
uploaded, camera_id, trusted_key)`` checks the same package as the backend receives it (files by SHA-256, the key
registered with the camera; no registered key is a problem, never trust on first use). ``verify_chain(dir,
trusted_key, anchor)`` also checks, in folder order, that sequence numbers run 1, 2, 3, ... with folder names
agreeing, that each ``prev_manifest_sha256`` is the SHA-256 of the previous manifest, that the camera and key never
change, that ``HEAD`` is signed by the chain's key and names the last package, and, given the backend's anchored
head ``(seq, sha256)``, that the chain still reaches it (truncating the newest packages and re-signing ``HEAD``
needs the camera key; replaying an old signed ``HEAD`` is caught by the anchor). An empty list means intact;
whether it is also TRUSTED depends on the key it was checked against (``trusted_key`` None: self-consistent only).
``violation_event(package)`` turns a package into its wire event and media for the spool.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.spool import make_attachment
from edge.traffic.evidence import FORMATS, GENESIS, HEAD, MANIFEST, SIGNATURE, head_body, manifest_sha256
from kuzet.contracts import CameraHealthState, ClockSource, ViolationEvent

_REQUIRED = ("format", "seq", "prev_manifest_sha256", "camera_id", "public_key", "files")


def _short(digest: str) -> str:
    return digest[:12] + "..."


def read_manifest(package: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """The parsed manifest, or None with the reason."""
    path = package / MANIFEST
    if not path.is_file():
        return None, [f"{package.name}: {MANIFEST} is missing"]
    try:
        data = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return None, [f"{package.name}: {MANIFEST} is not valid JSON ({exc})"]
    if not isinstance(data, dict):
        return None, [f"{package.name}: {MANIFEST} is not a JSON object"]
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        return None, [f"{package.name}: {MANIFEST} lacks fields {missing}"]
    if data["format"] not in FORMATS:
        return None, [f"{package.name}: unknown format {data['format']!r} (expected one of {FORMATS})"]
    bad = _bad_fields(data)
    if bad:
        return None, [f"{package.name}: {MANIFEST} has malformed {bad}"]
    return data, []


def _is_hex(value: object, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and all(c in "0123456789abcdef" for c in value)


def _bad_fields(data: dict[str, Any]) -> list[str]:
    """Names of required manifest fields whose type or form is wrong."""
    bad = []
    if not isinstance(data["seq"], int) or isinstance(data["seq"], bool) or data["seq"] < 1:
        bad.append("seq")
    if not _is_hex(data["prev_manifest_sha256"], 64):
        bad.append("prev_manifest_sha256")
    if not _is_hex(data["public_key"], 64):
        bad.append("public_key")
    files = data["files"]
    if not isinstance(files, list) or not all(
        isinstance(f, dict)
        and isinstance(f.get("name"), str)
        and _is_hex(f.get("sha256"), 64)
        and isinstance(f.get("size"), int)
        for f in files
    ):
        bad.append("files")
    if "camera_health" in data and not _health_ok(data["camera_health"]):
        bad.append("camera_health")
    return bad


def _health_ok(value: object) -> bool:
    """A package's ``camera_health`` (absent from packages written before the tamper monitor) names known states."""
    if not isinstance(value, dict) or not isinstance(value.get("active"), list):
        return False
    states = {s.value for s in CameraHealthState}
    return value.get("state") in states and all(s in states for s in value["active"])


def check_signature(manifest: bytes, signature: bytes, public_key: str) -> None:
    """Check the Ed25519 ``signature`` (hex text, as in ``manifest.sig``) of the ``manifest`` bytes.

    Raises:
        ValueError: the key or the signature is malformed (not hex, wrong length, not UTF-8).
        InvalidSignature: the signature does not verify with ``public_key``.
    """
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
    key.verify(bytes.fromhex(signature.decode().strip()), manifest)


def verify_uploaded(
    manifest_bytes: bytes, signature: bytes, uploaded: Collection[str], camera_id: str, trusted_key: str | None
) -> tuple[str | None, str | None]:
    """Check a package that arrived as separate files known by SHA-256 (the backend's view), not as a folder.

    Args:
        manifest_bytes: the manifest as signed.
        signature: the signature file's bytes.
        uploaded: SHA-256 of every file that arrived with the package.
        camera_id: the camera the package must come from.
        trusted_key: hex public key registered with the camera; None when none is registered (a problem).

    Returns:
        ``(problem, public_key)``: the first problem (None when intact), and the manifest's key when the signature
        verified with it (else None).
    """
    try:
        manifest = json.loads(manifest_bytes)
        public = str(manifest["public_key"]).lower()
        check_signature(manifest_bytes, signature, public)
    except (ValueError, KeyError, TypeError) as exc:
        return f"the manifest or signature is malformed ({type(exc).__name__})", None
    except InvalidSignature:
        return "the manifest signature does not verify with the key in the manifest", None
    missing = [f["name"] for f in manifest.get("files", []) if f.get("sha256") not in uploaded]
    if missing:
        return f"listed files missing or changed: {', '.join(missing[:5])}", public
    if manifest.get("camera_id") != camera_id:
        return f"the package is from camera {manifest.get('camera_id')!r}, not {camera_id!r}", public
    if trusted_key is None:
        return "the camera has no registered evidence key: the signer cannot be trusted", public
    if public != trusted_key.lower():
        return f"signed with key {public[:16]}..., not the camera's registered key {trusted_key[:16]}...", public
    return None, public


def _check_signature(package: Path, manifest: dict[str, Any], trusted_key: str | None) -> list[str]:
    sig_path = package / SIGNATURE
    if not sig_path.is_file():
        return [f"{package.name}: {SIGNATURE} is missing (the manifest is unsigned)"]
    public = str(manifest["public_key"]).lower()
    trusted_key = None if trusted_key is None else trusted_key.strip().lower()
    problems: list[str] = []
    if trusted_key is not None and public != trusted_key:
        problems.append(
            f"{package.name}: signed with key {_short(public)}, not the camera's trusted key {_short(trusted_key)}"
        )
    try:
        check_signature((package / MANIFEST).read_bytes(), sig_path.read_bytes(), public)
    except ValueError as exc:
        problems.append(f"{package.name}: malformed public key or signature ({exc})")
    except InvalidSignature:
        problems.append(f"{package.name}: manifest signature is INVALID (manifest.json was changed after signing)")
    return problems


def _check_files(package: Path, manifest: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    listed: set[str] = set()
    for entry in manifest["files"]:
        name = str(entry["name"])
        listed.add(name)
        path = package / name
        if "/" in name or "\\" in name or name.startswith("."):
            problems.append(f"{package.name}: manifest lists an unsafe file name {name!r}")
            continue
        if not path.is_file():
            problems.append(f"{package.name}: file {name} listed in the manifest is missing")
            continue
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry["sha256"]:
            problems.append(
                f"{package.name}: file {name} was modified: SHA-256 {_short(digest)}"
                f" differs from the manifest's {_short(str(entry['sha256']))}"
            )
        elif len(data) != entry["size"]:
            problems.append(f"{package.name}: file {name} has {len(data)} bytes, manifest says {entry['size']}")
    extra = sorted(p.name for p in package.iterdir() if p.name not in listed | {MANIFEST, SIGNATURE})
    problems.extend(f"{package.name}: file {name} is not listed in the manifest" for name in extra)
    return problems


def verify_package(package: Path, trusted_key: str | None = None) -> list[str]:
    """Problems of one package (empty when intact).

    Args:
        package: the package folder.
        trusted_key: the camera's public key as hex, from the registry; None checks self-consistency only.
    """
    if not package.is_dir():
        return [f"{package}: not a package folder"]
    manifest, problems = read_manifest(package)
    if manifest is None:
        return problems
    return _check_signature(package, manifest, trusted_key) + _check_files(package, manifest)


def list_packages(chain_dir: Path) -> list[Path]:
    """Package folders of a chain in name (= sequence) order; hidden temporary folders are skipped."""
    return sorted(p for p in chain_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def _check_links(packages: list[Path], manifests: list[dict[str, Any] | None]) -> list[str]:
    problems: list[str] = []
    prev_hash, prev_name, first = GENESIS, "(start of chain)", None
    for expected_seq, (package, manifest) in enumerate(zip(packages, manifests, strict=True), start=1):
        digest = hashlib.sha256((package / MANIFEST).read_bytes()).hexdigest() if manifest else None
        if manifest is None:
            prev_hash, prev_name = "unknown", package.name
            continue
        seq = int(manifest["seq"])
        name_seq = package.name.split("_", 1)[0]
        if not name_seq.isdigit() or int(name_seq) != seq:
            problems.append(f"{package.name}: folder name says sequence {name_seq}, manifest says {seq} (renamed?)")
        if seq != expected_seq:
            problems.append(
                f"{package.name}: sequence {seq} where {expected_seq} was expected"
                + (" (a package before it was removed)" if seq > expected_seq else " (packages reordered)")
            )
        if prev_hash != "unknown" and manifest["prev_manifest_sha256"] != prev_hash:
            problems.append(
                f"{package.name}: prev_manifest_sha256 {_short(str(manifest['prev_manifest_sha256']))} does not"
                f" match {prev_name} ({_short(prev_hash)}): the chain is broken here"
            )
        first = first or manifest
        for key in ("camera_id", "public_key"):
            if manifest[key] != first[key]:
                problems.append(f"{package.name}: {key} {manifest[key]!r} differs from the chain's {first[key]!r}")
        prev_hash, prev_name = digest or "unknown", package.name
    return problems


def _head_signature(chain_dir: Path, head: dict[str, Any], last: dict[str, Any]) -> list[str]:
    """``HEAD`` is signed with the chain's key over its seq, hash, camera and key (format-1 chains: unsigned)."""
    signature = head.get("signature")
    if signature is None:
        return [] if last["format"] == FORMATS[0] else [f"{chain_dir.name}: {HEAD} is unsigned (rewritten?)"]
    public = str(last["public_key"])
    body = head_body(int(head["seq"]), str(head["manifest_sha256"]), str(last["camera_id"]), public)
    if head.get("public_key") not in (None, public):
        return [
            f"{chain_dir.name}: {HEAD} names key {_short(str(head['public_key']))}, the chain's is {_short(public)}"
        ]
    try:
        check_signature(body, str(signature).encode(), public)
    except (ValueError, InvalidSignature):
        return [f"{chain_dir.name}: {HEAD} signature does not verify with the chain's key ({HEAD} was rewritten)"]
    return []


def _check_head(chain_dir: Path, packages: list[Path]) -> list[str]:
    head_path = chain_dir / HEAD
    if not head_path.is_file():
        return [f"{chain_dir.name}: {HEAD} is missing"] if packages else []
    try:
        head = json.loads(head_path.read_text())
        head_seq, head_hash = int(head["seq"]), str(head["manifest_sha256"])
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
        return [f"{chain_dir.name}: {HEAD} is malformed ({exc!r})"]
    if not packages:
        return [f"{chain_dir.name}: {HEAD} names package {head_seq} but the chain is empty"]
    last = packages[-1]
    digest = hashlib.sha256((last / MANIFEST).read_bytes()).hexdigest() if (last / MANIFEST).is_file() else ""
    if digest != head_hash:
        return [
            f"{chain_dir.name}: {HEAD} names package {head_seq} ({_short(head_hash)}) but the last"
            f" package is {last.name} ({_short(digest) if digest else 'no manifest'}): the newest manifest"
            " was changed, or newest package(s) removed or replaced"
        ]
    manifest = read_manifest(last)[0]
    if manifest is None:
        return []
    if int(manifest["seq"]) != head_seq:
        return [f"{chain_dir.name}: {HEAD} says sequence {head_seq}, its package says {manifest['seq']}"]
    return _head_signature(chain_dir, head, manifest)


def check_anchor(chain_dir: Path, packages: list[Path], anchor: tuple[int, str | None]) -> list[str]:
    """The chain still reaches the head the backend anchored (``(seq, manifest sha256 or None)``)."""
    seq, digest = anchor
    by_seq = {}
    for package in packages:
        manifest = read_manifest(package)[0]
        if manifest is not None:
            by_seq[int(manifest["seq"])] = package
    newest = max(by_seq, default=0)
    if newest < seq:
        return [
            f"{chain_dir.name}: the chain ends at sequence {newest} but the backend anchored sequence {seq}:"
            " the newest package(s) were removed (truncation or rollback)"
        ]
    if digest is not None and seq in by_seq and manifest_sha256(by_seq[seq]) != digest.lower():
        return [
            f"{chain_dir.name}: package {by_seq[seq].name} is not the one the backend anchored at sequence {seq}"
            f" ({_short(manifest_sha256(by_seq[seq]))} vs {_short(digest)}): the chain was rewritten"
        ]
    return []


def verify_chain(
    chain_dir: Path, trusted_key: str | None = None, anchor: tuple[int, str | None] | None = None
) -> list[str]:
    """Problems of a whole chain folder (empty when intact).

    Args:
        chain_dir: the camera's chain folder.
        trusted_key: the camera's registered public key (hex); None checks self-consistency only.
        anchor: the backend's anchored head ``(seq, manifest sha256 or None)``; None skips the truncation check.
    """
    if not chain_dir.is_dir():
        return [f"{chain_dir}: not a folder"]
    packages = list_packages(chain_dir)
    problems: list[str] = []
    manifests: list[dict[str, Any] | None] = []
    for package in packages:
        problems.extend(verify_package(package, trusted_key))
        manifests.append(read_manifest(package)[0])
    problems += _check_links(packages, manifests) + _check_head(chain_dir, packages)
    return problems + (check_anchor(chain_dir, packages, anchor) if anchor is not None else [])


def is_package(path: Path) -> bool:
    """A folder with a manifest is a package; otherwise it is treated as a chain."""
    return (path / MANIFEST).is_file()


_MEDIA_TYPES = {".jpg": "image/jpeg", ".json": "application/json"}
"""Wire media types; clips travel as application/octet-stream (the signed manifest says video/mp4)."""


def violation_event(package: Path) -> tuple[ViolationEvent, dict[str, bytes]]:
    """The wire event of a written package and its media by SHA-256, ready for ``Spool.put(event, media)``.

    Every package file travels as an attachment (the manifest and its signature included), so the backend can
    re-verify the package; ``evidence_sha256`` is the manifest hash that the chain links.
    """
    manifest = json.loads((package / MANIFEST).read_bytes())
    media: dict[str, bytes] = {}
    attachments = []
    for name in [*(f["name"] for f in manifest["files"]), MANIFEST, SIGNATURE]:
        data = (package / name).read_bytes()
        role = "manifest" if name == MANIFEST else "signature" if name == SIGNATURE else Path(name).stem
        kind = _MEDIA_TYPES.get(Path(name).suffix, "application/octet-stream")
        attachment = make_attachment(data, kind, role[:32])
        attachments.append(attachment)
        media[attachment.sha256] = data
    v, plate = manifest["violation"], manifest["plate"] or {}
    event = ViolationEvent(
        event_id=uuid.UUID(manifest["package_id"]),
        camera_id=manifest["camera_id"],
        captured_at=datetime.fromisoformat(manifest["captured_at"]),
        clock_source=ClockSource(manifest["clock_source"]),
        attachments=tuple(attachments),
        violation=v["kind"],
        track_id=v["track_id"],
        vehicle_class=v["vehicle_class"],
        plate_raw=plate.get("raw"),
        plate_normalised=plate.get("normalised"),
        speed_kmh=manifest["speed"]["kmh"],
        signal_state=manifest["signal"]["state"],
        signal_source=manifest["signal"]["source"],
        evidence_sha256=manifest_sha256(package),
        location=manifest["location"] or None,
        speed_sigma_kmh=manifest["speed"].get("sigma_kmh"),
        decision={k: x for k, x in (v.get("details") or {}).items() if isinstance(x, str) or math.isfinite(x)},
    )
    return event, media
