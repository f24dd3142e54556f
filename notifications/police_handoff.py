"""The officer-signed hand-off of a confirmed violation, and the police receiver's check of it.

The police webhook's body (``notifications.channels.police_webhook``; the transport is signed by the server) carries:

- ``handoff``: a JSON text (canonical: sorted keys, no spaces) with the violation, the plate acted on, the officer
  who decided, the time it was signed and ``camera``: the camera's own signed manifest (``manifest``: base64 of its
  exact bytes, ``signature``: hex Ed25519, ``public_key``: the camera's registered key);
- ``officer_signature``: hex Ed25519 signature of the exact ``handoff`` bytes by the officer's own key;
- ``officer_public_key``: that key (hex), for convenience; a receiver checks it against its own registry.

``verify_handoff(body, officer_keys, camera_keys)`` is the receiver's side with ONLY public keys: the officer's
signature, the camera's signature of the embedded manifest, the manifest hash and camera, and the plate.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "kuzet-handoff/1"


class HandoffError(ValueError):
    """The hand-off does not verify; the message says exactly why."""


def canonical(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes an officer signs: sorted keys, no whitespace, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def envelope(handoff: bytes, signature_hex: str, public_key: str) -> dict[str, str]:
    """The webhook payload around a signed hand-off (``enqueue_police`` adds ``violation_id``)."""
    return {
        "format": FORMAT,
        "handoff": handoff.decode(),
        "officer_signature": signature_hex,
        "officer_public_key": public_key,
    }


def _verify(public_hex: str, signature_hex: str, data: bytes, what: str) -> None:
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
        key.verify(bytes.fromhex(signature_hex), data)
    except (ValueError, TypeError) as exc:
        raise HandoffError(f"{what}: malformed key or signature ({exc})") from exc
    except InvalidSignature as exc:
        raise HandoffError(f"{what}: the signature does not verify with the registered key") from exc


def _camera_manifest(handoff: Mapping[str, Any], camera_keys: Mapping[str, str]) -> dict[str, Any]:
    camera_id = str(handoff.get("camera_id"))
    if camera_id not in camera_keys:
        raise HandoffError(f"camera {camera_id!r} is not in the receiver's registry of camera keys")
    camera = handoff.get("camera") or {}
    try:
        manifest_bytes = base64.b64decode(str(camera["manifest"]), validate=True)
    except (KeyError, binascii.Error) as exc:
        raise HandoffError("the embedded camera manifest is missing or not base64") from exc
    _verify(camera_keys[camera_id], str(camera.get("signature", "")), manifest_bytes, "camera manifest")
    if hashlib.sha256(manifest_bytes).hexdigest() != handoff.get("evidence_sha256"):
        raise HandoffError("the embedded manifest is not the evidence named by evidence_sha256")
    manifest: dict[str, Any] = json.loads(manifest_bytes)
    if manifest.get("camera_id") != camera_id:
        raise HandoffError(f"the manifest is from camera {manifest.get('camera_id')!r}, not {camera_id!r}")
    return manifest


def verify_handoff(
    body: bytes, officer_keys: Mapping[str, str], camera_keys: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a received police webhook body with public keys only.

    Args:
        body: the webhook body.
        officer_keys: operator id -> registered Ed25519 public key (hex), from the receiver's own registry.
        camera_keys: camera id -> registered evidence key (hex).

    Returns:
        ``(handoff, camera manifest)`` as verified.

    Raises:
        HandoffError: any signature, hash, registry or plate check fails.
    """
    try:
        outer = json.loads(body)
        text = str(outer["handoff"]).encode()
        handoff: dict[str, Any] = json.loads(text)
        officer_id = str(handoff["officer"]["operator_id"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise HandoffError(f"not a hand-off body ({type(exc).__name__}: {exc})") from exc
    if handoff.get("format") != FORMAT:
        raise HandoffError(f"unknown hand-off format {handoff.get('format')!r}")
    if officer_id not in officer_keys:
        raise HandoffError(f"officer {officer_id!r} is not in the receiver's registry of officer keys")
    _verify(officer_keys[officer_id], str(outer.get("officer_signature", "")), text, "officer signature")
    manifest = _camera_manifest(handoff, camera_keys)
    plate = handoff.get("plate")
    if not isinstance(plate, str) or not plate:
        raise HandoffError("the hand-off names no plate")
    read = (manifest.get("plate") or {}).get("normalised")
    if not handoff.get("plate_corrected_by_operator") and plate != read:
        raise HandoffError(f"plate {plate!r} is neither the camera's read {read!r} nor marked as corrected")
    return handoff, manifest
