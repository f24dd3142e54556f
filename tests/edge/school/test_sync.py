"""Gallery sync over real httpx (a MockTransport stands in for the backend at the HTTP boundary)."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np

from edge.config import UplinkConfig
from edge.school.gallery import Gallery, GalleryFile, l2_normalise
from edge.school.sync import GalleryClient, sync_gallery
from kuzet.contracts import GalleryDelta, GalleryTemplate

CONFIG = UplinkConfig(backend_url="http://backend.test", api_key="0123456789abcdef")  # type: ignore[arg-type]


def _template(tid: str, pid: str, seed: int) -> GalleryTemplate:
    vector = l2_normalise(np.random.default_rng(seed).normal(size=(1, 128)))[0]
    return GalleryTemplate(template_id=tid, pupil_id=pid, model="sface_2021dec", embedding=tuple(vector.tolist()))


class FakeBackend:
    """Keeps a version history; answers deltas since a version, or the whole gallery when history is gone."""

    def __init__(self) -> None:
        self.history = {1: ([_template("a", "A", 1), _template("b", "B", 2)], []), 2: ([_template("c", "C", 3)], ["a"])}
        self.oldest = 0
        self.down = False
        self.stale_start: int | None = None
        self.requests: list[tuple[str, str | None]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.url.path, request.headers.get("X-API-Key")))
        if self.down:
            raise httpx.ConnectError("backend unreachable")
        since = int(request.url.params["since"])
        latest = max(self.history)
        start = since if since >= self.oldest else 0
        if self.stale_start is not None and since != 0:
            start = self.stale_start  # a buggy or restored backend answering from another version
        added: dict[str, GalleryTemplate] = {}
        removed: list[str] = []
        for version in range(start + 1, latest + 1):
            new, gone = self.history[version]
            added.update({t.template_id: t for t in new})
            for tid in gone:
                if added.pop(tid, None) is None:
                    removed.append(tid)
        delta = GalleryDelta(
            school_id="s1", from_version=start, to_version=latest, added=tuple(added.values()), removed=tuple(removed)
        )
        return httpx.Response(200, content=delta.model_dump_json())


def test_pulls_only_changes_and_keeps_local_copy_offline(tmp_path: Path) -> None:
    backend = FakeBackend()
    client = GalleryClient(
        CONFIG, httpx.Client(base_url="http://backend.test", transport=httpx.MockTransport(backend.handler))
    )
    store = GalleryFile(tmp_path / "gallery.npz", tmp_path / "gallery.key")
    gallery = Gallery.empty()
    first = sync_gallery(gallery, "s1", client, store)
    assert (first.from_version, first.to_version, first.added, first.error) == (0, 2, 2, None)
    assert sorted(gallery.template_ids.tolist()) == ["b", "c"]
    assert backend.requests[-1] == ("/api/v1/schools/s1/gallery", "0123456789abcdef")

    backend.history[3] = ([_template("d", "D", 4)], ["b"])
    second = sync_gallery(gallery, "s1", client, store)
    assert (second.from_version, second.to_version, second.added, second.removed) == (2, 3, 1, 1)
    assert sorted(store.load(gallery.model, 128).template_ids.tolist()) == ["c", "d"]

    backend.down = True
    offline = sync_gallery(gallery, "s1", client, store)
    assert offline.error is not None and "unreachable" in offline.error
    restarted = store.load(gallery.model, 128)  # a reboot while offline: the last copy still identifies
    probe = np.asarray(backend.history[3][0][0].embedding, np.float32)[None]
    assert restarted.version == 3 and restarted.identify(probe, 0.99).pupil_ids == ["D"]


def test_history_gone_falls_back_to_full_resync(tmp_path: Path) -> None:
    backend = FakeBackend()
    backend.oldest = 2  # the backend compacted versions before 2: a device at version 1 gets everything
    client = GalleryClient(
        CONFIG, httpx.Client(base_url="http://backend.test", transport=httpx.MockTransport(backend.handler))
    )
    gallery = Gallery.empty()
    gallery.apply(GalleryDelta(school_id="s1", from_version=0, to_version=1, added=(_template("a", "A", 1),)))
    result = sync_gallery(gallery, "s1", client, GalleryFile(tmp_path / "g.npz", tmp_path / "g.key"))
    assert result.to_version == 2 and sorted(gallery.template_ids.tolist()) == ["b", "c"]


def test_delta_from_another_version_triggers_full_resync(tmp_path: Path) -> None:
    backend = FakeBackend()
    client = GalleryClient(
        CONFIG, httpx.Client(base_url="http://backend.test", transport=httpx.MockTransport(backend.handler))
    )
    gallery = Gallery.empty()
    sync_gallery(gallery, "s1", client, GalleryFile(tmp_path / "g.npz", tmp_path / "g.key"))
    backend.history[3] = ([_template("d", "D", 4)], [])
    backend.stale_start = 1
    result = sync_gallery(gallery, "s1", client, GalleryFile(tmp_path / "g.npz", tmp_path / "g.key"))
    assert result.error is None and result.to_version == 3
    assert sorted(gallery.template_ids.tolist()) == ["b", "c", "d"]
    assert [int(r[0] == "/api/v1/schools/s1/gallery") for r in backend.requests] == [1, 1, 1]


def test_templates_of_another_embedder_are_skipped_not_compared(tmp_path: Path) -> None:
    backend = FakeBackend()
    old = _template("z", "Z", 9).model_copy(update={"model": "dlib_resnet_v1"})
    backend.history[3] = ([old], [])  # a backend still serving a dlib template to an SFace door
    client = GalleryClient(
        CONFIG, httpx.Client(base_url="http://backend.test", transport=httpx.MockTransport(backend.handler))
    )
    gallery = Gallery.empty()
    result = sync_gallery(gallery, "s1", client, GalleryFile(tmp_path / "g.npz", tmp_path / "g.key"))
    assert result.error is None and result.to_version == 3
    assert sorted(gallery.template_ids.tolist()) == ["b", "c"]
    assert gallery.identify(np.asarray(old.embedding, np.float32)[None], -1.0).best_ids != ["Z"]
