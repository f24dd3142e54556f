"""Schools and who belongs to them: classes, pupils, guardians (families), guardian-pupil links, school accounts."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from backend.store.dialect import scalars, try_insert


@dataclass(frozen=True, slots=True)
class SchoolClass:
    """A class with the local time its lessons start."""

    class_id: str
    name: str
    start_time: str


@dataclass(frozen=True, slots=True)
class Pupil:
    """A pupil of a school."""

    pupil_id: str
    name: str
    class_id: str | None
    school_id: str


@dataclass(frozen=True, slots=True)
class RosterLine:
    """A pupil with the name of their class ('' without one)."""

    pupil_id: str
    name: str
    class_name: str


@dataclass(frozen=True, slots=True)
class Guardian:
    """A guardian (family) and where their messages go."""

    guardian_id: str
    name: str
    language: str
    channel: str
    address: str


@dataclass(frozen=True, slots=True)
class GuardianContact:
    """Where to tell a guardian about one of their children."""

    guardian_id: str
    language: str
    channel: str
    address: str
    pupil_name: str
    school_id: str


def insert_school(conn: sqlite3.Connection, school_id: str, name: str, created_at: str) -> bool:
    """Create a school; False when the id is taken."""
    sql = "INSERT INTO schools(school_id, name, created_at) VALUES (:school_id, :name, :created_at)"
    return try_insert(conn, sql, {"school_id": school_id, "name": name, "created_at": created_at})


def school_name(conn: sqlite3.Connection, school_id: str) -> str | None:
    """The name of a school, or None when there is no such school."""
    row = conn.execute("SELECT name FROM schools WHERE school_id = :school_id", {"school_id": school_id}).fetchone()
    return None if row is None else str(row[0])


def insert_class(conn: sqlite3.Connection, school_id: str, item: SchoolClass) -> bool:
    """Create a class; False when the id is taken."""
    return try_insert(
        conn,
        "INSERT INTO classes(class_id, school_id, name, start_time) VALUES (:class_id, :school_id, :name, :start)",
        {"class_id": item.class_id, "school_id": school_id, "name": item.name, "start": item.start_time},
    )


def classes(conn: sqlite3.Connection, school_id: str) -> list[SchoolClass]:
    """Classes of a school by name."""
    sql = "SELECT class_id, name, start_time FROM classes WHERE school_id = :school_id ORDER BY name"
    return [SchoolClass(*r) for r in conn.execute(sql, {"school_id": school_id})]


def class_school(conn: sqlite3.Connection, class_id: str) -> str | None:
    """The school of the class stored under ``class_id``, or None."""
    row = conn.execute("SELECT school_id FROM classes WHERE class_id = :class_id", {"class_id": class_id}).fetchone()
    return None if row is None else str(row[0])


def guardian_school(conn: sqlite3.Connection, guardian_id: str) -> str | None:
    """The school of the guardian stored under ``guardian_id``, or None."""
    sql = "SELECT school_id FROM guardians WHERE guardian_id = :guardian_id"
    row = conn.execute(sql, {"guardian_id": guardian_id}).fetchone()
    return None if row is None else str(row[0])


def insert_pupil(conn: sqlite3.Connection, pupil: Pupil, created_at: str) -> bool:
    """Create a pupil; False when the id is taken."""
    return try_insert(
        conn,
        "INSERT INTO pupils(pupil_id, school_id, class_id, name, created_at)"
        " VALUES (:pupil_id, :school_id, :class_id, :name, :created_at)",
        {"pupil_id": pupil.pupil_id, "school_id": pupil.school_id, "class_id": pupil.class_id, "name": pupil.name,
         "created_at": created_at},
    )  # fmt: skip


def pupil(conn: sqlite3.Connection, pupil_id: str) -> Pupil | None:
    """A pupil of any school, or None."""
    sql = "SELECT pupil_id, name, class_id, school_id FROM pupils WHERE pupil_id = :pupil_id"
    row = conn.execute(sql, {"pupil_id": pupil_id}).fetchone()
    return None if row is None else Pupil(*row)


def pupil_ids(conn: sqlite3.Connection, school_id: str) -> list[str]:
    """Pupils of a school, ordered by name."""
    sql = "SELECT pupil_id FROM pupils WHERE school_id = :school_id ORDER BY name"
    return scalars(conn.execute(sql, {"school_id": school_id}))


def roster(conn: sqlite3.Connection, school_id: str) -> list[RosterLine]:
    """Pupils of a school with their class names, ordered by class then name."""
    rows = conn.execute(
        "SELECT p.pupil_id, p.name, COALESCE(c.name, '') FROM pupils p LEFT JOIN classes c ON c.class_id = p.class_id"
        " WHERE p.school_id = :school_id ORDER BY c.name NULLS FIRST, p.name",
        {"school_id": school_id},
    )
    return [RosterLine(*r) for r in rows]


def delete_pupil(conn: sqlite3.Connection, pupil_id: str) -> None:
    """Delete the pupil row (consent, templates, thumbnail and guardian links go by cascade)."""
    conn.execute("DELETE FROM pupils WHERE pupil_id = :pupil_id", {"pupil_id": pupil_id})


def insert_guardian(conn: sqlite3.Connection, school_id: str, guardian: Guardian) -> bool:
    """Create a guardian; False when the id is taken."""
    return try_insert(
        conn,
        "INSERT INTO guardians(guardian_id, school_id, name, language, channel, address)"
        " VALUES (:guardian_id, :school_id, :name, :language, :channel, :address)",
        {"guardian_id": guardian.guardian_id, "school_id": school_id, "name": guardian.name,
         "language": guardian.language, "channel": guardian.channel, "address": guardian.address},
    )  # fmt: skip


def guardians(conn: sqlite3.Connection, school_id: str) -> list[Guardian]:
    """Guardians of a school by name."""
    sql = (
        "SELECT guardian_id, name, language, channel, address FROM guardians WHERE school_id = :school_id ORDER BY name"
    )
    return [Guardian(*r) for r in conn.execute(sql, {"school_id": school_id})]


def link(conn: sqlite3.Connection, guardian_id: str, pupil_id: str) -> None:
    """Make the guardian a guardian of the pupil (linking twice is one link)."""
    conn.execute(
        "INSERT INTO guardian_pupils(guardian_id, pupil_id) VALUES (:guardian_id, :pupil_id) ON CONFLICT DO NOTHING",
        {"guardian_id": guardian_id, "pupil_id": pupil_id},
    )


def unlink(conn: sqlite3.Connection, guardian_id: str, pupil_id: str) -> None:
    """Remove a guardian-pupil link."""
    conn.execute(
        "DELETE FROM guardian_pupils WHERE guardian_id = :guardian_id AND pupil_id = :pupil_id",
        {"guardian_id": guardian_id, "pupil_id": pupil_id},
    )


def children(conn: sqlite3.Connection, guardian_id: str) -> list[Pupil]:
    """The guardian's children by name."""
    rows = conn.execute(
        "SELECT p.pupil_id, p.name, p.class_id, p.school_id FROM guardian_pupils gp"
        " JOIN pupils p ON p.pupil_id = gp.pupil_id WHERE gp.guardian_id = :guardian_id ORDER BY p.name",
        {"guardian_id": guardian_id},
    )
    return [Pupil(*r) for r in rows]


def guardian_contacts(conn: sqlite3.Connection, pupil_id: str) -> list[GuardianContact]:
    """Every guardian of the pupil with where to reach them, by guardian id."""
    rows = conn.execute(
        "SELECT g.guardian_id, g.language, g.channel, g.address, p.name, p.school_id FROM guardian_pupils gp"
        " JOIN guardians g ON g.guardian_id = gp.guardian_id JOIN pupils p ON p.pupil_id = gp.pupil_id"
        " WHERE gp.pupil_id = :pupil_id ORDER BY g.guardian_id",
        {"pupil_id": pupil_id},
    )
    return [GuardianContact(*r) for r in rows]
