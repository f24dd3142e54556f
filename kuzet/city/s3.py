"""A local S3-compatible server for the city setup: moto's server in a thread of the orchestrating process, on a free
loopback port (the API processes reach it over HTTP like any S3 endpoint). moto keeps objects in memory."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LocalS3:
    """Where the server listens and the throwaway keys the processes sign with."""

    access_key_id: str = field(default_factory=lambda: "city" + secrets.token_hex(6))
    secret_access_key: str = field(default_factory=lambda: secrets.token_hex(20))
    server: Any = None
    endpoint_url: str = ""

    def start(self) -> LocalS3:
        """Start moto's server (raises RuntimeError when moto[server] is not installed)."""
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as exc:
            raise RuntimeError("moto[server] is not installed (pip install 'moto[server]')") from exc
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def media_section(self, store: str, **extra: Any) -> dict[str, Any]:
        """The ``media`` section of backend settings pointing at this server (``extra`` adds or overrides fields)."""
        return {
            "store": store,
            "endpoint_url": self.endpoint_url,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "create_bucket": True,
            **extra,
        }

    def client(self) -> Any:
        """A boto3 client of this server."""
        import boto3

        keys = {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key}
        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name="us-east-1", **keys)

    def stop(self) -> None:
        """Stop the server."""
        if self.server is not None:
            self.server.stop()
            self.server = None
