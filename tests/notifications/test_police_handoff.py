"""The police receiver's check of an officer-signed hand-off, holding only public keys: what passes, what fails."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from notifications.police_handoff import FORMAT, HandoffError, canonical, envelope, verify_handoff

OFFICER = Ed25519PrivateKey.generate()
CAMERA = Ed25519PrivateKey.generate()


def hexkey(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def handoff(**change: Any) -> dict[str, Any]:
    manifest = json.dumps({"camera_id": "cam-1", "seq": 4, "plate": {"normalised": "123ABC02"}}).encode()
    payload = {
        "format": FORMAT,
        "violation_id": "v-1",
        "camera_id": "cam-1",
        "plate": "123ABC02",
        "plate_corrected_by_operator": False,
        "evidence_sha256": hashlib.sha256(manifest).hexdigest(),
        "camera": {"manifest": base64.b64encode(manifest).decode(), "signature": CAMERA.sign(manifest).hex()},
        "officer": {"operator_id": "op-1", "username": "officer", "public_key": hexkey(OFFICER)},
        "signed_at": "2026-12-01T05:00:00+00:00",
    }
    return {**payload, **change}


def body(payload: dict[str, Any], signer: Ed25519PrivateKey = OFFICER) -> bytes:
    data = canonical(payload)
    return json.dumps({"violation_id": "v-1", **envelope(data, signer.sign(data).hex(), hexkey(signer))}).encode()


KEYS = ({"op-1": hexkey(OFFICER)}, {"cam-1": hexkey(CAMERA)})


def test_a_signed_handoff_verifies_with_public_keys_only() -> None:
    payload, manifest = verify_handoff(body(handoff()), *KEYS)
    assert payload["plate"] == "123ABC02" and manifest["seq"] == 4


CASES: list[tuple[str, Callable[[], bytes], str]] = [
    ("another officer signed", lambda: body(handoff(), Ed25519PrivateKey.generate()), "officer signature"),
    ("plate changed, not marked", lambda: body(handoff(plate="777AAA01")), "neither the camera's read"),
    ("no plate", lambda: body(handoff(plate="")), "names no plate"),
    ("manifest of another hash", lambda: body(handoff(evidence_sha256="0" * 64)), "not the evidence named"),
    ("unknown camera", lambda: body(handoff(camera_id="cam-9")), "not in the receiver's registry of camera keys"),
    ("other format", lambda: body(handoff(format="x/1")), "unknown hand-off format"),
    ("not a hand-off", lambda: b'{"plate": "123ABC02"}', "not a hand-off body"),
]


@pytest.mark.parametrize(("name", "make", "message"), CASES, ids=[c[0] for c in CASES])
def test_a_wrong_handoff_is_refused_with_the_reason(name: str, make: Callable[[], bytes], message: str) -> None:
    with pytest.raises(HandoffError, match=message):
        verify_handoff(make(), *KEYS)


def test_a_corrected_plate_marked_as_such_verifies() -> None:
    payload, _ = verify_handoff(body(handoff(plate="777AAA01", plate_corrected_by_operator=True)), *KEYS)
    assert payload["plate"] == "777AAA01"
