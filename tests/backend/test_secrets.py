"""Settings refuse weak secrets by pattern and entropy, not only known placeholders, with one line saying why."""

from __future__ import annotations

import base64
import secrets

import pytest
from pydantic import ValidationError

from backend.settings import Settings
from tests.backend.conftest import ADMIN, TEMPLATE_KEY


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("passwordpassword", "repeats 'password'"),
        ("abcabcabcabcabcabc", "repeats 'abc'"),
        ("0123456789abcdef0123", "run of consecutive characters"),
        ("qwertyqwertz-1234", "too little entropy"),
        ("394d4aa2eec86c85", "too little entropy"),
        ("changeme-please-1234", "placeholder"),
    ],
)
def test_weak_admin_tokens_are_refused(token: str, why: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(admin_token=token, template_key=TEMPLATE_KEY)
    (error,) = refused.value.errors()
    assert error["loc"] == ("admin_token",) and why in error["msg"] and "openssl rand" in error["msg"]


@pytest.mark.parametrize(
    "raw",
    [bytes(range(32)), bytes(range(100, 132)), bytes([7, 9, 11, 13] * 8), bytes(range(0, 256, 8)), b"k3y!" * 8],
)
def test_patterned_template_keys_are_refused(raw: bytes) -> None:
    with pytest.raises(ValidationError, match="template_key"):
        Settings(admin_token=ADMIN, template_key=base64.b64encode(raw).decode())


def test_random_secrets_pass() -> None:
    for _ in range(200):
        Settings(admin_token=secrets.token_hex(24), template_key=base64.b64encode(secrets.token_bytes(32)).decode())
        Settings(admin_token=secrets.token_urlsafe(24), template_key=TEMPLATE_KEY)
