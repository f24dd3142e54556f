"""The operator review stage of ``kuzet demo``: an operator of the district (with their own signing key) confirms
the first queued violation whose evidence verified and whose plate was read, through the real API; the local police
receiver gets one signed webhook and verifies the officer's and the camera's signatures with public keys only."""

from __future__ import annotations

import json
import secrets

import httpx

from kuzet.demo.support import DISTRICT, DemoBackend, PoliceReceiver, wait_for


def stage(api: DemoBackend, police: PoliceReceiver) -> list[str]:
    """An operator of the district confirms the first queued violation; the police receive one signed webhook."""
    url = api.backend.url
    password = secrets.token_urlsafe(12)
    body = {"username": "demo-operator", "password": password, "district": DISTRICT}
    httpx.post(f"{url}/api/v1/operators", json=body, headers=api.admin).raise_for_status()
    login = httpx.post(f"{url}/api/v1/operators/login", json={"username": "demo-operator", "password": password})
    login.raise_for_status()
    operator = {"Authorization": f"Bearer {login.json()['token']}"}
    queue = httpx.get(f"{url}/api/v1/violations", headers=operator).json()
    items = queue if isinstance(queue, list) else queue["items"]
    lines = [f"review: {len(items)} violations queued for {DISTRICT}; operator login demo-operator / {password}"]
    if not items:
        return lines
    ready = [v for v in items if v["evidence_status"] == "verified" and v["plate"]]
    refused = [v for v in items if v not in ready]
    if refused:
        answer = httpx.post(f"{url}/api/v1/violations/{refused[0]['violation_id']}/confirm", json={}, headers=operator)
        lines.append(f"review: confirming one without verified evidence or plate: {answer.status_code} (refused)")
    if not ready:
        return lines
    first = ready[0]
    confirm = f"{url}/api/v1/violations/{first['violation_id']}/confirm"
    httpx.post(confirm, json={"note": "demo"}, headers=operator).raise_for_status()
    wait_for(lambda: len(police.received) >= 1, 30)
    lines.append(
        f"review: confirmed {first['kind']} by {first['camera_id']} ({first['evidence_status']} evidence); police got "
        f"{len(police.received)} signed webhook(s), {len(police.rejected)} with a bad signature"
    )
    lines.append("review: " + _police_check(api, police.received[0]))
    return lines


def _police_check(api: DemoBackend, body: dict[str, object]) -> str:
    """The police side's check of the hand-off with ONLY the public keys the platform publishes."""
    from notifications.police_handoff import HandoffError, verify_handoff

    url = api.backend.url
    operators = httpx.get(f"{url}/api/v1/operators", headers=api.admin).json()
    devices = httpx.get(f"{url}/api/v1/devices", headers=api.admin).json()
    officers = {o["operator_id"]: o["public_key"] for o in operators}
    cameras = {d["camera_id"]: d["evidence_public_key"] for d in devices}
    try:
        handoff, manifest = verify_handoff(json.dumps(body).encode(), officers, cameras)
    except HandoffError as exc:
        return f"police hand-off check FAILED: {exc}"
    return (
        f"police verified the officer's signature ({handoff['officer']['username']}) and camera"
        f" {manifest['camera_id']}'s signed manifest (package {manifest['seq']}) with public keys only"
    )
