"""Consent, sealed templates and thumbnails, and the gallery's version log."""

from __future__ import annotations

import sqlite3

import pytest

from backend.store import faces
from backend.store.faces import Consent, SealedTemplate
from tests.backend.store.conftest import T0


def _template(template_id: str, pupil_id: str, model: str = "m") -> SealedTemplate:
    return SealedTemplate(template_id, pupil_id, "s1", model, b"n" * 12, template_id.encode())


@pytest.mark.parametrize(
    ("records", "granted"),
    [([], False), ([True], True), ([False], False), ([True, False], False), ([False, True], True)],
)
def test_consent_is_the_latest_record(school: sqlite3.Connection, records: list[bool], granted: bool) -> None:
    for value in records:
        faces.record_consent(school, Consent("p1", value, "mother", "u1", T0))
    assert faces.consent_granted(school, "p1") is granted
    assert school.execute("SELECT COUNT(*) FROM consents").fetchone()[0] == min(len(records), 1)


def test_templates_and_the_consented_gallery(school: sqlite3.Connection) -> None:
    faces.insert_templates(school, [_template("t2", "p1"), _template("t1", "p1"), _template("t3", "p2")], T0)
    assert sorted(faces.template_ids(school, "p1")) == ["t1", "t2"] and faces.template_count(school, "p2") == 1
    faces.record_consent(school, Consent("p1", True, "mother", "u1", T0))
    faces.record_consent(school, Consent("p2", False, "father", "u1", T0))
    assert [t.template_id for t in faces.consented_templates(school, "s1")] == ["t1", "t2"]
    assert faces.consented_templates(school, "s1")[0] == _template("t1", "p1")
    faces.delete_templates(school, "p1")
    assert faces.template_count(school, "p1") == 0 and faces.consented_templates(school, "s1") == []


def test_templates_of_other_models_are_found_per_school(school: sqlite3.Connection) -> None:
    old = [_template("t1", "p1", "dlib_resnet_v1"), _template("t2", "p1", "dlib_resnet_v1")]
    faces.insert_templates(school, [*old, _template("t3", "p2", "sface_2021dec")], T0)
    assert faces.pupils_with_other_models(school, "s1", "sface_2021dec") == ["p1"]
    assert faces.pupils_with_other_models(school, "s1", "dlib_resnet_v1") == ["p2"]
    assert faces.pupils_with_other_models(school, "s2", "sface_2021dec") == []
    assert faces.model_counts(school, "s1") == {"dlib_resnet_v1": 2, "sface_2021dec": 1}


def test_one_thumbnail_per_pupil(school: sqlite3.Connection) -> None:
    assert faces.thumbnail(school, "p1") is None
    faces.save_thumbnail(school, "p1", b"n1", b"c1")
    faces.save_thumbnail(school, "p1", b"n2", b"c2")
    assert faces.thumbnail(school, "p1") == (b"n2", b"c2")
    faces.delete_thumbnail(school, "p1")
    assert faces.thumbnail(school, "p1") is None


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        (0, [("t1", "remove"), ("t2", "add"), ("t3", "remove")]),
        (1, [("t1", "remove"), ("t3", "remove")]),
        (2, [("t3", "remove")]),
        (3, []),
    ],
)
def test_last_change_of_each_template_since_a_version(
    conn: sqlite3.Connection, since: int, expected: list[tuple[str, str]]
) -> None:
    assert faces.gallery_version(conn, "s1") == 0
    faces.add_gallery_version(conn, "s1", 1, [("t1", "add"), ("t2", "add")])
    faces.add_gallery_version(conn, "s1", 2, [("t1", "remove"), ("t3", "add")])
    faces.add_gallery_version(conn, "s1", 3, [("t3", "remove")])
    faces.add_gallery_version(conn, "s1", 3, [])
    faces.add_gallery_version(conn, "s2", 7, [("x", "add")])
    assert faces.gallery_version(conn, "s1") == 3
    assert sorted(faces.last_changes_since(conn, "s1", since)) == expected
