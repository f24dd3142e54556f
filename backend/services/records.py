"""The school's records as its routes ask for them: an object exists AND belongs to the caller's school (else 404),
and creating one whose id the school already uses is a 409.

Ids are per school. A pupil, class or guardian is stored under its school's own id when no other school uses it,
else under ``<id>@<school>`` (``<school>`` shortened to a hash when the key would pass 64 characters): the house's
form for a qualified name (migration 302 renamed clashing operators ``<name>@<district>``). Ids a school chooses
cannot contain ``@``, so the id is the key up to the ``@`` (``public_id``) and one school's ids never collide with
another's. Every route takes and answers the school's own ids; only the door's gallery and its events carry keys.
This keeps every table, foreign key and query as it was (no rebuild of eleven tables that refer to pupils), and
nothing answers differently because another school has an id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from backend.services.errors import BadInputError, ConflictError, NotFoundError
from backend.store import devices, schools, users
from backend.store.schools import Guardian, Pupil, SchoolClass

T = TypeVar("T")
ID_MAX = 48
"""Longest id a school may choose for a new pupil, class or guardian (room for the ``@<school>`` of a key)."""
KEY_MAX = 64


def public_id(key: str) -> str:
    """The school's own id of a stored key (the key up to its ``@``)."""
    return key.split("@", 1)[0]


def storage_key(public: str, school_id: str) -> str:
    """The qualified key of ``public`` at ``school_id`` (used when another school stores ``public`` itself)."""
    room = KEY_MAX - len(public) - 1
    qualifier = school_id if len(school_id) <= room else hashlib.sha256(school_id.encode()).hexdigest()[:room]
    return f"{public}@{qualifier}"


def _resolve(owner: Callable[[str], str | None], school_id: str, public: str) -> str | None:
    """The key under which ``school_id`` stores ``public``, or None; ``owner`` gives the school of a key."""
    for key in (public, storage_key(public, school_id)):
        if owner(key) == school_id:
            return key
    return None


def _new_key(owner: Callable[[str], str | None], school_id: str, public: str, what: str) -> str:
    """The key for a new object the school calls ``public``.

    Raises:
        BadInputError: the id is longer than ``ID_MAX`` (whatever other schools hold).
        ConflictError: the school already has one with this id.
    """
    if len(public) > ID_MAX:
        raise BadInputError("Id too long", f"a {what} id has at most {ID_MAX} characters")
    if _resolve(owner, school_id, public) is not None:
        raise ConflictError(f"{what.capitalize()} exists", f"{what} {public!r} exists in this school")
    return public if owner(public) is None else storage_key(public, school_id)


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


def _pupil_school(conn: sqlite3.Connection) -> Callable[[str], str | None]:
    def owner(key: str) -> str | None:
        pupil = schools.pupil(conn, key)
        return None if pupil is None else pupil.school_id

    return owner


def pupil_of_school(conn: sqlite3.Connection, school_id: str, pupil_id: str) -> Pupil:
    """A pupil this school calls ``pupil_id`` (its ``pupil_id`` is the stored key; 404 for none here)."""
    key = _resolve(_pupil_school(conn), school_id, pupil_id)
    return found(None if key is None else schools.pupil(conn, key), f"pupil {pupil_id!r} in this school")


def pupil_of_guardian(conn: sqlite3.Connection, guardian_id: str, pupil_id: str) -> Pupil:
    """A child of this guardian (by the school's id; 404 for anyone else's child)."""
    child = next((c for c in schools.children(conn, guardian_id) if public_id(c.pupil_id) == pupil_id), None)
    return found(child, f"child {pupil_id!r} of this guardian")


def guardian_of_school(conn: sqlite3.Connection, school_id: str, guardian_id: str, what: str | None = None) -> str:
    """The key of the guardian this school calls ``guardian_id`` (404 when there is none here)."""
    key = _resolve(lambda k: schools.guardian_school(conn, k), school_id, guardian_id)
    return found(key, what or f"guardian {guardian_id!r} in this school")


def class_of_school(conn: sqlite3.Connection, school_id: str, class_id: str) -> str:
    """The key of the class this school calls ``class_id`` (404 when there is none here)."""
    return found(_resolve(lambda k: schools.class_school(conn, k), school_id, class_id), "class in this school")


def create_school(conn: sqlite3.Connection, school_id: str, name: str) -> None:
    """Create a school (409 when the id is taken)."""
    if not schools.insert_school(conn, school_id, name, datetime.now(UTC).isoformat()):
        raise ConflictError("School exists", f"school {school_id!r} exists")


def create_class(conn: sqlite3.Connection, school_id: str, item: SchoolClass) -> str:
    """Create a class; returns its key (409 when this school has the id)."""
    key = _new_key(lambda k: schools.class_school(conn, k), school_id, item.class_id, "class")
    if not schools.insert_class(conn, school_id, dataclasses.replace(item, class_id=key)):
        raise ConflictError("Class exists", f"class {item.class_id!r} exists in this school")
    return key


def create_pupil(conn: sqlite3.Connection, pupil: Pupil) -> str:
    """Create a pupil in an existing class of the school, if one is named; returns its key (404 for a class not
    of this school / 409 when this school has the id)."""
    class_key = None if pupil.class_id is None else class_of_school(conn, pupil.school_id, pupil.class_id)
    key = _new_key(_pupil_school(conn), pupil.school_id, pupil.pupil_id, "pupil")
    if not schools.insert_pupil(
        conn, Pupil(key, pupil.name, class_key, pupil.school_id), datetime.now(UTC).isoformat()
    ):
        raise ConflictError("Pupil exists", f"pupil {pupil.pupil_id!r} exists in this school")
    return key


def create_guardian(conn: sqlite3.Connection, school_id: str, guardian: Guardian) -> str:
    """Create a guardian; returns its key (409 when this school has the id)."""
    key = _new_key(lambda k: schools.guardian_school(conn, k), school_id, guardian.guardian_id, "guardian")
    if not schools.insert_guardian(conn, school_id, dataclasses.replace(guardian, guardian_id=key)):
        raise ConflictError("Guardian exists", f"guardian {guardian.guardian_id!r} exists in this school")
    return key


def new_camera_id(conn: sqlite3.Connection, school_id: str, camera_id: str) -> str:
    """The id a new door camera of this school gets: ``camera_id``, or ``<camera_id>.<school>`` (``<school>`` a hash
    when too long) when another site has ``camera_id``.

    Raises:
        BadInputError: the id is longer than ``ID_MAX`` (whatever other sites hold).
        ConflictError: this school already has a camera by that id.
    """
    if len(camera_id) > ID_MAX:
        raise BadInputError("Id too long", f"a camera id has at most {ID_MAX} characters")
    mine = [camera_id, f"{camera_id}.{school_id}"]
    if len(mine[1]) > KEY_MAX:
        mine[1] = f"{camera_id}.{hashlib.sha256(school_id.encode()).hexdigest()[: KEY_MAX - len(camera_id) - 1]}"
    for candidate in mine:
        found_camera = devices.get(conn, candidate)
        if found_camera is not None and (found_camera.kind, found_camera.site) == ("school", school_id):
            raise ConflictError("Camera exists", f"camera {camera_id!r} exists in this school")
    return mine[0] if devices.get(conn, mine[0]) is None else mine[1]


def create_account(conn: sqlite3.Connection, account: users.NewAccount) -> None:
    """Create an account of an existing school, a guardian account for a guardian of it (404 / 409 name taken).

    User names stay unique across the platform: the one login form asks for a name and a password, not a school.
    A taken name is one 409 that says nothing of whose it is (no school, role or id).
    """
    school_name(conn, account.school_id)
    if account.guardian_id is not None:
        key = guardian_of_school(conn, account.school_id, account.guardian_id, "guardian in this school")
        account = dataclasses.replace(account, guardian_id=key)
    if not users.insert(conn, account):
        raise ConflictError("User name taken", f"the user name {account.username!r} is not available; choose another")


def delete_account(conn: sqlite3.Connection, school_id: str, user_id: str) -> None:
    """Delete an account of this school (404 for any other)."""
    require(users.in_school(conn, school_id, user_id), "user here")
    users.delete(conn, user_id)
