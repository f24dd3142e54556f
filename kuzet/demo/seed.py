"""The demo school in the backend: its pupils are the sample people the door enrols (``samples/school/people``),
with guardians in Kazakh, Russian and English, so ``kuzet demo`` can show the parent messages of the sample entries.

Call :func:`seed_demo_school` on the backend database BEFORE the door events are uploaded (the attendance handler
writes the outbox rows when the events arrive), then :func:`demo_messages` for the summary lines. The rows are
written through the backend stores before the backend starts; the messages are read back with read-only SQL.
"""

from __future__ import annotations

import secrets
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from backend.db import Target, connect, migrate, transaction
from backend.services.auth import hash_password
from backend.services.enrolment import FaceKit
from backend.services.privacy import set_consent, store_templates
from backend.store import schools, users
from kuzet.demo.support import SAMPLES, SCHOOL_ID
from notifications import outbox
from notifications.templates import LANGUAGES


def _title(pupil_id: str) -> str:
    return pupil_id.replace("_", " ").title()


def seed_demo_school(
    db_path: Target,
    people_dir: Path | None = None,
    school_id: str = SCHOOL_ID,
    staff_password: str | None = None,
    template_key: bytes | None = None,
) -> list[str]:
    """Create the demo school, class 5A (08:00), one pupil per sample person, a guardian each and a staff login.

    Args:
        db_path: the backend's SQLite file (migrated here if needed).
        people_dir: ``samples/school/people`` (one folder per person; the folder name is the pupil id).
        school_id: the school id the demo door cameras are registered with (their ``site``).
        staff_password: password of the ``demo-staff`` account (random when None).
        template_key: when given (``settings.template_key_bytes``), also enrol each person's photos through the
            backend's enrolment check so door devices can pull the gallery (needs the face models, a few seconds).

    Returns:
        Summary lines (the staff login included).
    """
    people_dir = people_dir or SAMPLES / "school" / "people"
    pupils = sorted(p.name for p in people_dir.iterdir() if p.is_dir())
    password = staff_password or secrets.token_urlsafe(12)
    db = connect(db_path)
    try:
        migrate(db)
        with transaction(db) as conn:
            _write_school(conn, school_id, pupils, hash_password(password))
        enrolled = _enrol(db, people_dir, pupils, template_key) if template_key is not None else []
    finally:
        db.conn.close()
    return [
        *enrolled,
        f"school service: {school_id} with {len(pupils)} pupils ({', '.join(pupils)}), guardians in kk/ru/en",
        f"school service: dashboard /schools/{school_id}/dashboard, login demo-staff / {password}",
    ]


def _write_school(conn: sqlite3.Connection, school_id: str, pupils: list[str], password_hash: str) -> None:
    """The school, class 5A, the pupils with a guardian each (languages in turn) and consent, the staff account."""
    now = datetime.now(UTC).isoformat()
    class_id = f"{school_id}-5a"
    schools.insert_school(conn, school_id, "Demo school", now)
    schools.insert_class(conn, school_id, schools.SchoolClass(class_id, "5A", "08:00"))
    for i, pupil_id in enumerate(pupils):
        guardian = f"guardian-{pupil_id}"
        parent = f"Parent of {_title(pupil_id)}"
        schools.insert_pupil(conn, schools.Pupil(pupil_id, _title(pupil_id), class_id, school_id), now)
        language = LANGUAGES[i % len(LANGUAGES)]
        contact = schools.Guardian(guardian, parent, language, "email", f"{guardian}@example.kz")
        schools.insert_guardian(conn, school_id, contact)
        schools.link(conn, guardian, pupil_id)
        set_consent(conn, pupil_id, True, parent, "demo")
    staff = users.NewAccount(
        "demo-staff", "demo-staff", password_hash, "staff", school_id, None, "staff@example.kz", "en", now
    )
    users.insert(conn, staff)


def _enrol(db: sqlite_utils.Database, people_dir: Path, pupils: list[str], key: bytes) -> list[str]:
    kit = FaceKit()
    lines = []
    for pupil_id in pupils:
        photos = [(p.name, p.read_bytes()) for p in sorted((people_dir / pupil_id).glob("*.jpg"))]
        result = kit.enrol(photos)
        if len(result.embeddings):
            with transaction(db) as conn:
                store_templates(conn, key, pupil_id, kit.model, result.embeddings, result.thumbnail_jpeg)
        accepted = sum(v.accepted for v in result.verdicts)
        lines.append(f"school service: enrolled {pupil_id} in the backend, {accepted}/{len(photos)} photos accepted")
    return lines


def demo_messages(db_path: Target, school_id: str = SCHOOL_ID) -> list[str]:
    """The parent and staff messages the sample entries produced (``notifications.outbox``), one line each, and each
    pupil's attendance state (plain read-only SQL: no store lists it across days)."""
    db = connect(db_path)
    try:
        queued = outbox.messages(db.conn, school_id)
        states = db.execute(
            "SELECT p.name, a.state, a.late, a.feverish FROM attendance a JOIN pupils p ON p.pupil_id = a.pupil_id"
            " WHERE a.school_id = ? ORDER BY p.name",
            (school_id,),
        ).fetchall()
    finally:
        db.conn.close()
    lines = [f"school service: {len(queued)} messages queued for guardians and staff"]
    lines += [f"  [{m.language}] {m.channel} -> {m.recipient}: {m.body} ({status})" for m, status in queued]
    lines += [
        f"  attendance: {name} {state}{' late' if late else ''}{' FEVER' if fever else ''}"
        for name, state, late, fever in states
    ]
    return lines
