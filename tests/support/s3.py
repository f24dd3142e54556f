"""A real S3-compatible server for tests: moto in server mode on a free loopback port, in this process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer


@dataclass(frozen=True)
class S3Server:
    """Where the server listens and the (dummy) keys that sign requests to it."""

    endpoint_url: str
    access_key_id: str = "kuzet-test"
    secret_access_key: str = "kuzet-test-secret"

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )

    def media_settings(self, store: str, **extra: Any) -> dict[str, Any]:
        """The ``media`` section of backend settings pointing at this server."""
        return {
            "store": store,
            "endpoint_url": self.endpoint_url,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "create_bucket": True,
            **extra,
        }


@contextmanager
def moto_s3() -> Iterator[S3Server]:
    """Start moto's S3 server on a free port; stop it after."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield S3Server(f"http://{host}:{port}")
    finally:
        server.stop()
