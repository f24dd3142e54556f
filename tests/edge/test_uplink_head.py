"""The uplink reports the camera's evidence chain HEAD to a real backend after its evidence is uploaded: a failed
report never holds events back and is retried, never dropped; a rolled-back chain is answered 409, logged and kept."""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edge.config import UplinkConfig
from edge.spool import Spool
from edge.traffic.evidence import HEAD
from edge.traffic.evidence_keys import load_or_create_key, public_hex
from edge.traffic.evidence_verify import list_packages
from edge.uplink import EVIDENCE_CHAIN, HEAD_CONFLICT, HEAD_REPORTED, Uploader, read_chain_head
from tests.backend.violations.evidence import make_package
from tests.support.servers import BackendProcess

CAMERA = "junction-head-1"


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[tuple[BackendProcess, str]]:
    """A real backend with the traffic camera registered with its evidence key; yields it and the device key."""
    server = BackendProcess(tmp_path / "backend").start(timeout=120)
    try:
        key = public_hex(load_or_create_key(tmp_path / "edge" / "keys", CAMERA))
        body = {"camera_id": CAMERA, "kind": "traffic", "site": "almaty-1", "evidence_public_key": key}
        admin = {"Authorization": f"Bearer {server.admin_token}"}
        reply = httpx.post(server.url + "/api/v1/devices", json=body, headers=admin, timeout=60)
        yield server, str(reply.raise_for_status().json()["api_key"])
    finally:
        server.stop()


class HeadOutage(httpx.BaseTransport):
    """The network drops the first ``drops`` head reports (connection refused); everything else goes through."""

    def __init__(self, drops: int) -> None:
        self.inner, self.drops, self.heads = httpx.HTTPTransport(), drops, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/evidence-head"):
            self.heads += 1
            if self.heads <= self.drops:
                raise httpx.ConnectError("connection refused", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _chain(server: BackendProcess) -> dict[str, object]:
    admin = {"Authorization": f"Bearer {server.admin_token}"}
    reply = httpx.get(f"{server.url}/api/v1/devices/{CAMERA}/evidence", headers=admin, timeout=60)
    return dict(reply.raise_for_status().json())


def test_head_reported_after_upload_retried_after_an_outage_and_a_rollback_refused(
    backend: tuple[BackendProcess, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server, key = backend
    edge = tmp_path / "edge"
    chain_dir = edge / "chains" / CAMERA
    spool = Spool(edge / "spool.sqlite")
    heads = []
    for _ in range(2):
        event, media = make_package(edge, CAMERA)
        spool.put(event, media)
        heads.append((chain_dir / HEAD).read_text())
    spool.set_state(EVIDENCE_CHAIN, str(chain_dir))  # what the traffic agent records
    newest = read_chain_head(chain_dir)
    assert newest is not None and newest[0] == 2
    config = UplinkConfig.model_validate(
        {"backend_url": server.url, "api_key": key, "backoff_initial_s": 0.2, "backoff_max_s": 0.5, "timeout_s": 30}
    )
    transport = HeadOutage(drops=1)
    uploader = Uploader(spool, config, httpx.Client(base_url=server.url, transport=transport, timeout=30))
    try:
        with caplog.at_level(logging.INFO, logger="edge.uplink"):
            assert uploader.drain_once() == 2  # the events go through although the head report fails
            assert spool.depth() == 0 and spool.get_state(HEAD_REPORTED) is None
            assert "ConnectError" in (uploader.status.evidence_head_error or "")
            assert _chain(server)["head"]["seq"] == 2  # type: ignore[index]  # anchored by the ingest itself
            assert uploader.drain_once() == 0 and transport.heads == 1  # not due yet: its own back-off
            time.sleep(0.3)
            assert uploader.drain_once() == 0 and transport.heads == 2  # retried while idle, and answered
            assert spool.get_state(HEAD_REPORTED) == f"{newest[0]}:{newest[1]}"
            assert uploader.status.evidence_head_error is None
            assert uploader.report_head(retry_now=True) is None and transport.heads == 2  # nothing new to report

            shutil.rmtree(list_packages(chain_dir)[-1])  # the newest package removed and the old HEAD put back
            (chain_dir / HEAD).write_text(heads[0])
            assert uploader.drain_once() == 0 and transport.heads == 3
            assert uploader.report_head(retry_now=True) is None and transport.heads == 3  # answered: not resent
    finally:
        uploader.close()

    conflict = json.loads(spool.get_state(HEAD_CONFLICT) or "{}")
    assert (conflict["seq"], conflict["status"]) == (1, 409) and "behind the anchored head 2" in conflict["detail"]
    assert uploader.status.evidence_head_conflict == conflict["detail"]
    refused = [r for r in caplog.records if r.levelno == logging.ERROR and "refused evidence chain HEAD 1" in r.message]
    assert len(refused) == 1 and "409" in refused[0].getMessage()
    assert any(r.levelno == logging.WARNING and "retrying" in r.getMessage() for r in caplog.records)
    state = _chain(server)
    assert state["head"]["seq"] == 2  # type: ignore[index]  # a rollback never moves the anchor back
    assert [(c["kind"], c["seq"], c["anchored_seq"]) for c in state["conflicts"]] == [("reported_head", 1, 2)]  # type: ignore[attr-defined]
    spool.close()


@pytest.mark.parametrize(
    ("text", "problem"),
    [('{"seq": 3}', "KeyError"), ("not json", "JSONDecodeError"), ('{"seq": 3, "manifest_sha256": "ab"}', "not a")],
)
def test_an_unreadable_head_is_an_error_not_a_report(tmp_path: Path, text: str, problem: str) -> None:
    assert read_chain_head(tmp_path) is None  # no HEAD yet: an empty chain has nothing to report
    (tmp_path / HEAD).write_text(text)
    with pytest.raises(ValueError, match=problem):
        read_chain_head(tmp_path)
