"""SMTP with STARTTLS and AUTH against aiosmtpd that requires both (self-signed certificate made here)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notifications.channels.base import PermanentFailure
from notifications.channels.smtp import SmtpChannel
from notifications.config import SmtpConfig
from notifications.outbox import OutboxMessage
from tests.notifications.servers import SmtpServer

USER, PASSWORD = "kuzet", "relay-password-123"
MESSAGE = OutboxMessage(
    1,
    "pass:1:g1",
    "email",
    "mum@example.kz",
    "Aruzhan entered school",
    "Aruzhan entered school at 07:52",
    "s1",
    "entered",
    "en",
    1,
)


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.pem", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def secure(tmp_path: Path) -> Iterator[tuple[SmtpServer, ssl.SSLContext]]:
    cert, key = _certificate(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    server = SmtpServer(
        tls_context=server_tls, require_starttls=True, authenticator=_authenticate, auth_required=True
    ).start()
    yield server, ssl.create_default_context(cafile=str(cert))
    server.stop()


@pytest.mark.parametrize(
    ("starttls", "password", "outcome"),
    [(True, PASSWORD, "sent"), (True, "wrong-password", "535"), (False, None, "530")],
)
def test_starttls_and_auth(
    secure: tuple[SmtpServer, ssl.SSLContext], starttls: bool, password: str | None, outcome: str
) -> None:
    server, client_tls = secure
    config = SmtpConfig(
        host="127.0.0.1",
        port=server.port,
        sender="kuzet@school.kz",
        starttls=starttls,
        username=USER if password else None,
        password=password,
    )
    channel = SmtpChannel(config, tls=client_tls)
    if outcome == "sent":
        receipt = channel.send(MESSAGE)
        assert receipt.provider_id and receipt.provider_id.endswith("@school.kz>")
        assert [r.recipient for r in server.received] == ["mum@example.kz"]
        assert "Aruzhan entered school at 07:52" in server.received[0].text
    else:
        with pytest.raises(PermanentFailure, match=outcome):
            channel.send(MESSAGE)
        assert server.received == []
