"""Migrating a school from dlib to SFace templates: re-embedded from the sealed enrolment thumbnail (the photos are
gone), pupils without one listed for new photos, and the door identifies the pupil from the new template."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from click.testing import CliRunner

from backend.db import connect, transaction
from backend.services import privacy
from backend.services.enrolment import EMBEDDER_MODEL, FaceKit, reembed_school
from edge.config import UplinkConfig
from edge.school.config import SchoolConfig
from edge.school.gallery import Gallery, GalleryFile
from edge.school.sync import GalleryClient, sync_gallery
from kuzet.commands.gallery import reembed_faces
from tests.backend.conftest import ADMIN, TEMPLATE_KEY
from tests.backend.school.conftest import World

PEOPLE = Path(__file__).resolve().parents[3] / "samples" / "school" / "people"


def test_dlib_templates_are_reembedded_from_thumbnails(world: World, tmp_path: Path) -> None:
    kit = FaceKit()
    assert kit.model == EMBEDDER_MODEL == "sface_2021dec"
    enrolled = kit.enrol([("obama.jpg", (PEOPLE / "obama" / "obama.jpg").read_bytes())])
    assert enrolled.thumbnail_jpeg is not None
    legacy = np.random.default_rng(0).normal(size=(2, 128)).astype(np.float32)
    legacy /= np.linalg.norm(legacy, axis=1, keepdims=True)
    key = world.settings.template_key_bytes
    db = connect(world.settings.database)
    with transaction(db) as conn:  # what an older backend holds: dlib templates and the sealed thumbnail
        for pupil, thumb in (("p1", enrolled.thumbnail_jpeg), ("p2", None)):
            privacy.set_consent(conn, pupil, True, "guardian", "test")
            privacy.store_templates(conn, key, pupil, "dlib_resnet_v1", legacy, thumb)
    with transaction(db) as conn:
        report = reembed_school(conn, key, kit, "school-1")
    assert (report.reembedded, report.needs_photos) == (["p1"], ["p2"])
    assert report.templates_by_model == {"dlib_resnet_v1": 2, "sface_2021dec": 1}
    with transaction(db) as conn:  # a second run has nothing left to do but the pupil without a thumbnail
        again = reembed_school(conn, key, kit, "school-1")
    assert (again.reembedded, again.needs_photos) == ([], ["p2"])
    db.conn.close()

    uplink = UplinkConfig.model_validate({"backend_url": "http://testserver", "api_key": world.keys["device_a"]})
    door = Gallery.empty(128)
    synced = sync_gallery(door, "school-1", GalleryClient(uplink, client=world.client), GalleryFile(
        tmp_path / "g.npz", tmp_path / "g.key"))  # fmt: skip
    assert synced.error is None and door.pupil_ids.tolist() == ["p1"]  # p2's dlib templates skipped, not compared
    detector, embedder = kit.models()
    other = np.asarray(cv2.imread(str(PEOPLE / "obama" / "obama2.jpg")), np.uint8)
    faces = detector.detect(other)
    probe = embedder.embed(other, faces[int(np.argmax(faces.area))])
    threshold = SchoolConfig(school_id="school-1").identify.threshold
    assert door.identify(probe, threshold).pupil_ids == ["p1"]

    config = tmp_path / "backend.yaml"  # the command on the same database: nothing left but p2, who needs photos
    config.write_text(
        f"database: {world.settings.database}\nmedia_dir: {world.settings.media_dir}\n"
        f"admin_token: {ADMIN}\ntemplate_key: {TEMPLATE_KEY}\n"
    )
    result = CliRunner().invoke(reembed_faces, ["--config", str(config), "--school", "school-1"])
    assert result.exit_code == 0, result.output
    assert "0 pupils re-embedded with sface_2021dec" in result.output and "new enrolment photos" in result.output
    assert "p2" in result.output
