"""A real S3-compatible server for tests: the city setup's moto server (``kuzet.city.s3.LocalS3``) on a free loopback
port, in this process, stopped after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kuzet.city.s3 import LocalS3


@contextmanager
def moto_s3() -> Iterator[LocalS3]:
    """Start moto's S3 server on a free port; stop it after."""
    server = LocalS3().start()
    try:
        yield server
    finally:
        server.stop()
