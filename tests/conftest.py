"""Shared fixtures: where the real evaluation data is, and skipping cleanly when it is absent."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import database_url, db_engine, postgres_server  # noqa: F401  (fixtures for every test)

REPO = Path(__file__).resolve().parent.parent


def shared_data_root() -> Path:
    """``KUZET_DATA`` or ``../shared/data`` next to the repository."""
    return Path(os.environ.get("KUZET_DATA", REPO.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared evaluation data folder; the test is skipped, with the reason, when it is absent."""
    root = shared_data_root()
    if not root.is_dir():
        pytest.skip(f"shared evaluation data not found at {root} (set KUZET_DATA to its folder)")
    return root


def require_data(relative: str) -> Path:
    """A sub-folder of the shared data, or skip with the reason."""
    path = shared_data_root() / relative
    if not path.exists():
        pytest.skip(f"{path} is absent (set KUZET_DATA to the shared data folder)")
    return path


@pytest.fixture(scope="session")
def samples() -> Path:
    """The bundled demo media."""
    return REPO / "samples"


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> Iterator[None]:
    """In-process tests hash passwords at scrypt N=2^10 (the production N=2^17 takes ~1 s here per hash; ~70 tests
    each build a world of six accounts, hashed and logged in); servers started as subprocesses and the demo use the
    real cost, which tests/backend/test_limits.py pins. What the tests check (format, verify, rehash at a higher
    current cost) does not depend on N.

    Session-scoped so that module-scoped worlds (built before any function-scoped fixture runs) get it too."""
    from backend.services import auth

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "SCRYPT_N", 2**10)
        yield
