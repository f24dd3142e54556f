"""The operator review stage of ``kuzet demo``: an operator of the district confirms the first queued violation
through the real API, and the local police receiver gets one signed webhook."""

from __future__ import annotations

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
    first = items[0]
    confirm = f"{url}/api/v1/violations/{first['violation_id']}/confirm"
    httpx.post(confirm, json={"note": "demo"}, headers=operator).raise_for_status()
    wait_for(lambda: len(police.received) >= 1, 30)
    lines.append(
        f"review: confirmed {first['kind']} by {first['camera_id']} ({first['evidence_status']} evidence); police got "
        f"{len(police.received)} signed webhook(s), {len(police.rejected)} with a bad signature"
    )
    return lines
