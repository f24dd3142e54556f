"""Shared fixtures: where the real evaluation data is, and skipping cleanly when it is absent."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

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


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In-process tests hash passwords at scrypt N=2^14 (the production N=2^17 takes ~1 s here per hash and would
    add minutes); servers started as subprocesses, the demo and tests/backend/test_throttle.py use the real cost."""
    auth = sys.modules.get("backend.services.auth")
    if auth is not None:
        monkeypatch.setattr(auth, "SCRYPT_N", 2**14)
    yield
