"""The school's records as its routes ask for them: an object exists AND belongs to the caller's school (else 404),
and creating one whose id is taken is a 409."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import TypeVar

from backend.services.errors import ConflictError, NotFoundError
from backend.store import schools, users
from backend.store.schools import Guardian, Pupil, SchoolClass

T = TypeVar("T")


def found(value: T | None, what: str) -> T:
    """``value``, or a 404 naming ``what`` when it is None."""
    if value is None:
        raise NotFoundError("Not found", f"no {what} here")
    return value


def require(exists: bool, what: str) -> None:
    """Nothing, or a 404 naming ``what`` when it does not exist."""
    if not exists:
        raise NotFoundError("Not found", f"no {what} here")


def school_name(conn: sqlite3.Connection, school_id: str) -> str:
    """The name of the school (404 when there is none)."""
    return found(schools.school_name(conn, school_id), "school")


def pupil_of_school(conn: sqlite3.Connection, school_id: str, pupil_id: str) -> Pupil:
    """A pupil of this school (404 for a pupil of another school or none)."""
    pupil = schools.pupil(conn, pupil_id)
    return found(
        pupil if pupil is not None and pupil.school_id == school_id else None, f"pupil {pupil_id!r} in this school"
    )


def pupil_of_guardian(conn: sqlite3.Connection, guardian_id: str, pupil_id: str) -> Pupil:
    """A child of this guardian (404 for anyone else's child)."""
    child = next((c for c in schools.children(conn, guardian_id) if c.pupil_id == pupil_id), None)
    return found(child, f"child {pupil_id!r} of this guardian")


def guardian_of_school(conn: sqlite3.Connection, school_id: str, guardian_id: str, what: str | None = None) -> None:
    """Nothing, or a 404 when ``guardian_id`` is not a guardian of this school."""
    require(schools.has_guardian(conn, school_id, guardian_id), what or f"guardian {guardian_id!r} in this school")


def create_school(conn: sqlite3.Connection, school_id: str, name: str) -> None:
    """Create a school (409 when the id is taken)."""
    if not schools.insert_school(conn, school_id, name, datetime.now(UTC).isoformat()):
        raise ConflictError("School exists", f"school {school_id!r} exists")


def create_class(conn: sqlite3.Connection, school_id: str, item: SchoolClass) -> None:
    """Create a class (409 when the id is taken)."""
    if not schools.insert_class(conn, school_id, item):
        raise ConflictError("Class exists", f"class {item.class_id!r} exists")


def create_pupil(conn: sqlite3.Connection, pupil: Pupil) -> None:
    """Create a pupil in an existing class of the school, if one is named (404 / 409 when the id is taken)."""
    if pupil.class_id is not None:
        require(schools.has_class(conn, pupil.school_id, pupil.class_id), "class in this school")
    if not schools.insert_pupil(conn, pupil, datetime.now(UTC).isoformat()):
        raise ConflictError("Pupil exists", f"pupil {pupil.pupil_id!r} exists")


def create_guardian(conn: sqlite3.Connection, school_id: str, guardian: Guardian) -> None:
    """Create a guardian (409 when the id is taken)."""
    if not schools.insert_guardian(conn, school_id, guardian):
        raise ConflictError("Guardian exists", f"guardian {guardian.guardian_id!r} exists")


def create_account(conn: sqlite3.Connection, account: users.NewAccount) -> None:
    """Create an account of an existing school, a guardian account for a guardian of it (404 / 409 name taken)."""
    school_name(conn, account.school_id)
    if account.guardian_id is not None:
        guardian_of_school(conn, account.school_id, account.guardian_id, "guardian in this school")
    if not users.insert(conn, account):
        raise ConflictError("User exists", f"user name {account.username!r} is taken")


def delete_account(conn: sqlite3.Connection, school_id: str, user_id: str) -> None:
    """Delete an account of this school (404 for any other)."""
    require(users.in_school(conn, school_id, user_id), "user here")
    users.delete(conn, user_id)
