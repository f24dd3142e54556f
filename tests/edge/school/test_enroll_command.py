"""`kuzet enroll`: one message per photo, bad photos refused, only templates (and a thumbnail when asked) kept, in a
gallery encrypted with its key file."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from click.testing import CliRunner

from edge.school.gallery import MAGIC, Gallery, GalleryFile
from kuzet.commands.school import enroll


def _photos(samples: Path, tmp_path: Path) -> dict[str, Path]:
    people = samples / "school" / "people"
    obama = cv2.imread(str(people / "obama" / "obama.jpg"))
    biden = cv2.imread(str(people / "biden" / "biden.jpg"))
    out = {"good": people / "obama" / "obama.jpg", "good2": people / "obama" / "obama2.jpg"}
    h = min(obama.shape[0], biden.shape[0])
    images = {
        "no_face": np.tile(np.linspace(0, 255, 320, dtype=np.uint8)[None, :, None], (240, 1, 3)),
        "two_faces": np.hstack([obama[:h], biden[:h]]),
        "tiny": cv2.resize(obama, (obama.shape[1] // 8, obama.shape[0] // 8), interpolation=cv2.INTER_AREA),
        "blurry": cv2.GaussianBlur(obama, (0, 0), 9),
    }
    for name, image in images.items():
        out[name] = tmp_path / f"{name}.jpg"
        cv2.imwrite(str(out[name]), image)
    out["not_an_image"] = tmp_path / "notes.jpg"
    out["not_an_image"].write_text("not a photo")
    return out


def test_enroll_refuses_bad_photos_with_one_message_each(samples: Path, tmp_path: Path) -> None:
    photos = _photos(samples, tmp_path)
    gallery_path, key_path = tmp_path / "gallery.npz", tmp_path / "gallery.key"
    order = ["good", "no_face", "two_faces", "tiny", "blurry", "not_an_image", "good2"]
    where = ["--gallery", str(gallery_path), "--key", str(key_path)]
    result = CliRunner().invoke(
        enroll, ["--pupil", "P-001", "--name", "Test Pupil", *where, "--thumbnails", *(str(photos[k]) for k in order)]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.split(":")[0].endswith((".jpg", ".png"))]
    assert len(lines) == len(order)
    verdict = dict(zip(order, lines, strict=True))
    assert verdict["good"].endswith("accepted") and verdict["good2"].endswith("accepted")
    assert "no face" in verdict["no_face"]
    assert "2 faces" in verdict["two_faces"]
    assert "too small" in verdict["tiny"]
    assert "blurry" in verdict["blurry"]
    assert "not a readable image" in verdict["not_an_image"]
    gallery = Gallery.load(gallery_path, key_path.read_bytes())
    assert gallery.model == "sface_2021dec"
    assert gallery.pupil_ids.tolist() == ["P-001", "P-001"] and gallery.names == {"P-001": "Test Pupil"}
    assert gallery.templates.shape == (2, 128)
    thumb = gallery.thumbnails["P-001"]
    assert thumb[:2] == b"\xff\xd8" and len(thumb) < 10_000
    decoded = cv2.imdecode(np.frombuffer(thumb, np.uint8), cv2.IMREAD_COLOR)
    assert max(decoded.shape[:2]) <= 96
    with np.load(io.BytesIO(gallery.to_bytes())) as data:  # templates, ids, metadata and the thumbnail: no photo
        assert sorted(data.files) == ["meta", "pupil_ids", "template_ids", "templates", "thumb__P-001"]
    assert gallery_path.read_bytes().startswith(MAGIC) and b"Test Pupil" not in gallery_path.read_bytes()
    again = CliRunner().invoke(enroll, ["--pupil", "P-002", "--name", "Other", *where, str(photos["good2"])])
    assert again.exit_code == 0, again.output
    reloaded = GalleryFile(gallery_path, key_path).load("sface_2021dec", 128)
    assert reloaded.pupil_ids.tolist() == ["P-001", "P-001", "P-002"] and reloaded.thumbnails == {}
    wrong = CliRunner().invoke(enroll, ["--pupil", "P-3", "--name", "Y", "--gallery", str(gallery_path),
                                        "--key", str(tmp_path / "lost.key"), str(photos["good"])])  # fmt: skip
    assert wrong.exit_code == 2 and "gallery key file" in wrong.output and "missing" in wrong.output
    other = tmp_path / "door2" / "gallery.npz"  # no --key: the key is made beside the gallery
    beside = CliRunner().invoke(enroll, ["--pupil", "P-4", "--name", "Z", "--gallery", str(other), str(photos["good"])])
    assert beside.exit_code == 0, beside.output
    assert (tmp_path / "door2" / "gallery.key").stat().st_mode & 0o777 == 0o600


def test_enroll_with_no_usable_photo_fails_and_writes_nothing(samples: Path, tmp_path: Path) -> None:
    photos = _photos(samples, tmp_path)
    gallery_path = tmp_path / "gallery.npz"
    where = ["--gallery", str(gallery_path), "--key", str(tmp_path / "gallery.key")]
    result = CliRunner().invoke(enroll, ["--pupil", "P-2", "--name", "X", *where, str(photos["no_face"])])
    assert result.exit_code == 1
    assert "nothing enrolled" in result.output
    assert not gallery_path.exists()
