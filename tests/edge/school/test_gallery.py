"""Gallery: vectorised identification, versioned deltas, model tags (never mixed), encrypted persistence for
offline use, voting."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from edge.school.gallery import MAGIC, Gallery, GalleryFile, GalleryKeyError, GalleryVersionError, l2_normalise
from edge.school.vote import vote
from kuzet.contracts import GalleryDelta, GalleryTemplate


def unit(seed: int, n: int = 1, dim: int = 128) -> np.ndarray:
    return l2_normalise(np.random.default_rng(seed).normal(size=(n, dim)))


def template(tid: str, pid: str, seed: int, model: str = "sface_2021dec") -> GalleryTemplate:
    return GalleryTemplate(template_id=tid, pupil_id=pid, model=model, embedding=tuple(unit(seed)[0].tolist()))


def test_identify_is_vectorised_and_thresholded() -> None:
    people = unit(0, 50)
    gallery = Gallery(people, [f"p{i}" for i in range(50)], [f"t{i}" for i in range(50)], version=3)
    probes = l2_normalise(people[[7, 21]] + 0.05 * unit(1, 2))
    stranger = unit(99)
    result = gallery.identify(np.concatenate([probes, stranger]), threshold=0.9)
    assert result.pupil_ids == ["p7", "p21", None]
    assert result.best_ids[2] is not None
    assert result.scores.shape == (3,) and result.scores.dtype == np.float32
    assert result.scores[0] > 0.9 > result.scores[2]
    empty = Gallery.empty().identify(probes, 0.9)
    assert empty.pupil_ids == [None, None] and np.all(empty.scores == -1.0)


def test_a_pupils_templates_are_fused_by_their_mean_score() -> None:
    a = l2_normalise(unit(10) + 0.3 * unit(11))
    b = l2_normalise(unit(10) + 0.3 * unit(12))
    templates = np.concatenate([a, unit(20), b, unit(21), unit(22)])  # A's two photos are not adjacent
    gallery = Gallery(templates, ["A", "B", "A", "C", "C"], ["a1", "b1", "a2", "c1", "c2"])
    probe = l2_normalise(unit(10) + 0.3 * unit(13))
    result = gallery.identify(probe, 0.5)
    expected = float(np.mean(probe @ np.concatenate([a, b]).T))
    assert result.pupil_ids == ["A"] and result.scores[0] == pytest.approx(expected, abs=1e-5)
    lookalike = l2_normalise(unit(22) + 0.05 * unit(23))  # very close to ONE of C's two photos
    fused = gallery.identify(lookalike, 0.6)
    assert fused.best_ids == ["C"] and fused.pupil_ids == [None]  # one matching photo of two is not enough
    gallery.add("D", unit(30))  # a change regroups the templates
    assert gallery.identify(unit(30), 0.99).pupil_ids == ["D"]


def test_deltas_apply_only_changes_and_refuse_gaps() -> None:
    gallery = Gallery.empty()
    full = GalleryDelta(
        school_id="s1", from_version=0, to_version=2, added=(template("a1", "A", 1), template("b1", "B", 2))
    )
    gallery.apply(full)
    assert gallery.version == 2 and len(gallery) == 2
    change = GalleryDelta(
        school_id="s1", from_version=2, to_version=3, added=(template("c1", "C", 3),), removed=("a1",)
    )
    gallery.apply(change)
    assert gallery.version == 3 and sorted(gallery.template_ids.tolist()) == ["b1", "c1"]
    assert gallery.identify(unit(3), 0.99).pupil_ids == ["C"]
    assert gallery.identify(unit(1), 0.99).pupil_ids == [None]
    with pytest.raises(GalleryVersionError):
        gallery.apply(GalleryDelta(school_id="s1", from_version=7, to_version=8))
    gallery.apply(full)  # a full resync replaces everything
    assert gallery.version == 2 and sorted(gallery.template_ids.tolist()) == ["a1", "b1"]
    bad = GalleryTemplate(template_id="x", pupil_id="X", model="sface_2021dec", embedding=tuple([0.1] * 64))
    with pytest.raises(ValueError, match="64-d"):
        gallery.apply(GalleryDelta(school_id="s1", from_version=2, to_version=3, added=(bad,)))


def test_templates_of_another_model_are_skipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    gallery = Gallery.empty()  # an SFace door
    mixed = (template("a1", "A", 1), template("d1", "D", 4, model="dlib_resnet_v1"))
    with caplog.at_level(logging.ERROR):
        gallery.apply(GalleryDelta(school_id="s1", from_version=0, to_version=1, added=mixed))
    assert gallery.template_ids.tolist() == ["a1"] and gallery.version == 1
    assert "dlib_resnet_v1" in caplog.text and "skipped" in caplog.text
    assert gallery.identify(unit(4), -1.0).best_ids == ["A"]  # the dlib template was never compared


def test_persisted_copy_survives_offline_restart(tmp_path: Path) -> None:
    gallery = Gallery.empty()
    gallery.add("A", unit(1, 2), name="Aigerim")
    gallery.add("pupil-0042", unit(5), name="Dias")
    gallery.thumbnails["A"] = b"\xff\xd8small-jpeg"
    store = GalleryFile(tmp_path / "var" / "gallery.npz", tmp_path / "keys" / "gallery.key", thumbnails=True)
    store.save(gallery)
    assert stat.S_IMODE(store.key_path.stat().st_mode) == 0o600 and len(store.key_path.read_bytes()) == 32
    loaded = store.load(gallery.model, gallery.dim)
    assert loaded.version == 2 and loaded.names == {"A": "Aigerim", "pupil-0042": "Dias"}
    assert loaded.identify(unit(5), 0.99).pupil_ids == ["pupil-0042"]
    assert loaded.thumbnails == {"A": b"\xff\xd8small-jpeg"}
    np.testing.assert_allclose(loaded.templates, gallery.templates)
    assert loaded.identify(unit(1, 2), 0.35).pupil_ids == ["A", "A"]  # each photo: (1 + ~0) / 2 over A's two
    assert GalleryFile(tmp_path / "missing.npz", store.key_path).load(gallery.model, 128).version == 0
    roundtrip = Gallery.empty()
    roundtrip.apply(loaded.to_delta("s1"))
    assert roundtrip.version == 2 and len(roundtrip) == 3


def test_gallery_is_encrypted_at_rest_without_thumbnails_by_default(tmp_path: Path) -> None:
    gallery = Gallery.empty()
    gallery.add("pupil-0042", unit(5), name="Dias Serikuly")
    gallery.thumbnails["pupil-0042"] = b"\xff\xd8small-jpeg"
    store = GalleryFile(tmp_path / "gallery.npz", tmp_path / "gallery.key")
    store.save(gallery)
    raw = store.path.read_bytes()
    assert raw.startswith(MAGIC)
    for clear in (b"Dias", b"pupil-0042", b"sface", b"PK\x03\x04", unit(5).astype(np.float32).tobytes()[:16]):
        assert clear not in raw
    assert store.load(gallery.model, 128).thumbnails == {}  # off unless the school turns them on
    other = GalleryFile(store.path, tmp_path / "other.key")
    other.save(Gallery.empty())  # creates another device's key
    store.save(gallery)
    with pytest.raises(GalleryKeyError, match="cannot be decrypted"):
        other.load(gallery.model, 128)
    with pytest.raises(GalleryKeyError, match="missing"):
        GalleryFile(store.path, tmp_path / "lost.key").load(gallery.model, 128)
    os.chmod(store.key_path, 0o644)
    with pytest.raises(GalleryKeyError, match="chmod 600"):
        store.load(gallery.model, 128)
    os.chmod(store.key_path, 0o600)
    tampered = bytearray(raw)
    tampered[-1] ^= 1
    store.path.write_bytes(bytes(tampered))
    with pytest.raises(GalleryKeyError):
        store.load(gallery.model, 128)


def test_old_plain_gallery_is_reencrypted_and_another_model_is_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = Gallery.empty(model="dlib_resnet_v1")
    old.add("A", unit(1))
    store = GalleryFile(tmp_path / "gallery.npz", tmp_path / "gallery.key")
    store.path.write_bytes(old.to_bytes())  # what an older version wrote: a plain .npz
    assert store.load("dlib_resnet_v1", 128).pupil_ids.tolist() == ["A"]
    assert store.path.read_bytes().startswith(MAGIC)  # re-written encrypted on first read
    with caplog.at_level(logging.ERROR):
        sface = store.load("sface_2021dec", 128)  # the door now runs SFace
    assert len(sface) == 0 and sface.version == 0 and sface.model == "sface_2021dec"
    assert "dlib_resnet_v1" in caplog.text and "not used" in caplog.text


@pytest.mark.parametrize(
    ("ids", "scores", "min_votes", "fraction", "expected"),
    [
        (["A", "A", "B"], [0.95, 0.96, 0.94], 1, 0.5, ("A", 0.955)),
        (["A", None, None], [0.95, 0.5, 0.4], 1, 0.5, (None, 0.95)),  # 1 of 3 frames: not enough
        (["A", None, None], [0.95, 0.5, 0.4], 1, 0.3, ("A", 0.95)),
        (["A", "B"], [0.95, 0.97], 1, 0.5, ("B", 0.97)),  # tie in votes: higher mean score wins
        (["A"], [0.95], 2, 0.0, (None, 0.95)),
        ([], [], 1, 0.5, (None, None)),
    ],
)
def test_vote(
    ids: list[str | None],
    scores: list[float],
    min_votes: int,
    fraction: float,
    expected: tuple[str | None, float | None],
) -> None:
    winner, score = vote(ids, np.asarray(scores, np.float32), min_votes, fraction)
    assert winner == expected[0]
    if expected[1] is None:
        assert score is None
    else:
        assert score == pytest.approx(expected[1], abs=1e-4)


def test_calibration_pair_scores_split_genuine_and_impostor() -> None:
    from edge.school.calibrate import pair_scores
    from models.faces.folders import far_threshold

    a, b = unit(1)[0], unit(2)[0]
    embeddings = l2_normalise(np.stack([a, a + 0.05 * b, b, b + 0.05 * a]))
    genuine, impostor = pair_scores(embeddings, np.array(["A", "A", "B", "B"]))
    assert len(genuine) == 2 and len(impostor) == 4
    assert genuine.min() > impostor.max()
    assert far_threshold(impostor, 0.25) == pytest.approx(np.sort(impostor)[-2])


def test_the_door_key_sits_beside_its_gallery_unless_configured(tmp_path: Path) -> None:
    from edge.school.config import SchoolConfig

    beside = GalleryFile.of(SchoolConfig(school_id="s", gallery_path=tmp_path / "door" / "gallery.npz"))
    assert beside.key_path == tmp_path / "door" / "gallery.key" and beside.thumbnails is False
    elsewhere = SchoolConfig(school_id="s", gallery_key_path=tmp_path / "keys" / "k", gallery_thumbnails=True)
    assert GalleryFile.of(elsewhere).key_path == tmp_path / "keys" / "k" and GalleryFile.of(elsewhere).thumbnails
