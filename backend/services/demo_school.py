"""Demo hook: a school whose pupils are the sample people the school pipeline enrols (``samples/school/people``),
with guardians in Kazakh, Russian and English, so ``kuzet demo`` can show the parent messages of the sample entries.

Call :func:`seed_demo_school` on the backend database BEFORE the door events are uploaded (the attendance handler
writes the outbox rows when the events arrive), then :func:`demo_messages` for the summary lines.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from backend.db import connect, migrate, transaction
from backend.services.auth import hash_password
from backend.services.enrolment import EMBEDDER_MODEL, FaceKit
from backend.services.privacy import set_consent, store_templates

LANGUAGES = ("kk", "ru", "en")


def _title(pupil_id: str) -> str:
    return pupil_id.replace("_", " ").title()


def seed_demo_school(
    db_path: Path,
    people_dir: Path | None = None,
    school_id: str = "demo-school",
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
    people_dir = people_dir or Path(__file__).resolve().parents[2] / "samples" / "school" / "people"
    pupils = sorted(p.name for p in people_dir.iterdir() if p.is_dir())
    password = staff_password or secrets.token_urlsafe(12)
    now = datetime.now(UTC).isoformat()
    db = connect(db_path)
    try:
        migrate(db)
        with transaction(db) as conn:
            conn.execute(
                "INSERT INTO schools(school_id, name, created_at) VALUES (?, ?, ?)", (school_id, "Demo school", now)
            )
            conn.execute(
                "INSERT INTO classes(class_id, school_id, name, start_time) VALUES (?, ?, '5A', '08:00')",
                (f"{school_id}-5a", school_id),
            )
            for i, pupil_id in enumerate(pupils):
                language = LANGUAGES[i % len(LANGUAGES)]
                conn.execute(
                    "INSERT INTO pupils(pupil_id, school_id, class_id, name, created_at) VALUES (?, ?, ?, ?, ?)",
                    (pupil_id, school_id, f"{school_id}-5a", _title(pupil_id), now),
                )
                guardian = f"guardian-{pupil_id}"
                conn.execute(
                    "INSERT INTO guardians(guardian_id, school_id, name, language, channel, address)"
                    " VALUES (?, ?, ?, ?, 'email', ?)",
                    (guardian, school_id, f"Parent of {_title(pupil_id)}", language, f"{guardian}@example.kz"),
                )
                conn.execute("INSERT INTO guardian_pupils(guardian_id, pupil_id) VALUES (?, ?)", (guardian, pupil_id))
                set_consent(conn, pupil_id, True, f"Parent of {_title(pupil_id)}", "demo")
            conn.execute(
                "INSERT INTO users(user_id, username, password_hash, role, school_id, email, language, created_at)"
                " VALUES ('demo-staff', 'demo-staff', ?, 'staff', ?, 'staff@example.kz', 'en', ?)",
                (hash_password(password), school_id, now),
            )
        enrolled = _enrol(db, people_dir, pupils, template_key) if template_key is not None else []
    finally:
        db.conn.close()
    return [
        *enrolled,
        f"school service: {school_id} with {len(pupils)} pupils ({', '.join(pupils)}), guardians in kk/ru/en",
        f"school service: dashboard /schools/{school_id}/dashboard, login demo-staff / {password}",
    ]


def _enrol(db: sqlite_utils.Database, people_dir: Path, pupils: list[str], key: bytes) -> list[str]:
    kit = FaceKit()
    lines = []
    for pupil_id in pupils:
        photos = [(p.name, p.read_bytes()) for p in sorted((people_dir / pupil_id).glob("*.jpg"))]
        result = kit.enrol(photos)
        if len(result.embeddings):
            with transaction(db) as conn:
                store_templates(conn, key, pupil_id, EMBEDDER_MODEL, result.embeddings, result.thumbnail_jpeg)
        accepted = sum(v.accepted for v in result.verdicts)
        lines.append(f"school service: enrolled {pupil_id} in the backend, {accepted}/{len(photos)} photos accepted")
    return lines


def demo_messages(db_path: Path, school_id: str = "demo-school") -> list[str]:
    """The parent and staff messages the sample entries produced (outbox rows), one line each."""
    db = connect(db_path)
    try:
        rows = db.execute(
            "SELECT language, channel, recipient, body, status FROM outbox WHERE school_id = ? ORDER BY id",
            (school_id,),
        ).fetchall()
        states = db.execute(
            "SELECT p.name, a.state, a.late, a.feverish FROM attendance a JOIN pupils p ON p.pupil_id = a.pupil_id"
            " WHERE a.school_id = ? ORDER BY p.name",
            (school_id,),
        ).fetchall()
    finally:
        db.conn.close()
    lines = [f"school service: {len(rows)} messages queued for guardians and staff"]
    lines += [
        f"  [{lang}] {channel} -> {recipient}: {body} ({status})" for lang, channel, recipient, body, status in rows
    ]
    lines += [
        f"  attendance: {name} {state}{' late' if late else ''}{' FEVER' if fever else ''}"
        for name, state, late, fever in states
    ]
    return lines
