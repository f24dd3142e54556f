"""NTCIP 1202 over SNMP: the driver against a real UDP agent (pysnmp's codec) serving a replayed timeline."""

from __future__ import annotations

import threading

import pytest
from pyasn1.codec.ber import decoder
from pysnmp.proto import api

from hardware.signal import PhaseChange, SignalPhaseFeed, SignalSource, SignalState, SignalTimeline
from hardware.signals import NtcipConfig, NtcipController, SnmpClient, SnmpError, SnmpTimeoutError
from hardware.signals.ntcip import group_of, phase_state, status_oid
from hardware.signals.snmp import decode_oid, encode_int, encode_oid, get_request, read_tlv
from tests.hardware.ntcip_agent import NtcipAgent

R, A, G, OFF, UNK = (SignalState.RED, SignalState.AMBER, SignalState.GREEN, SignalState.OFF, SignalState.UNKNOWN)


class Clock:
    """A settable clock shared by the agent (replay time) and the driver (poll stamps)."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def replay(*changes: tuple[float, SignalState]) -> SignalTimeline:
    return SignalTimeline([PhaseChange(t, s) for t, s in changes], SignalSource.CONTROLLER)


# phase 2: main through movement; phase 5: protected left arrow; phase 12 (group 2): a pedestrian-side head
PHASES = {
    2: replay((0.0, G), (10.0, A), (13.0, R)),
    5: replay((0.0, R), (13.0, G), (18.0, A), (21.0, R)),
    12: replay((0.0, R)),
}


@pytest.mark.parametrize(("value", "encoded"), [(0, "020100"), (127, "02017f"), (128, "02020080"), (-1, "0201ff")])
def test_integer_encoding(value: int, encoded: str) -> None:
    assert encode_int(value).hex() == encoded


def test_oid_round_trip_and_request_decodes_with_pysnmp() -> None:
    oid = status_oid(G, 2)
    assert oid == "1.3.6.1.4.1.1206.4.2.1.1.4.1.4.2"
    assert decode_oid(read_tlv(encode_oid(oid), 0)[1]) == oid
    message = get_request("public", [oid, "1.3.6.1.2.1.1.3.0"], 77, "v1")
    decoded, rest = decoder.decode(message, asn1Spec=api.v1.Message())
    assert rest == b""
    pdu = api.v1.apiMessage.get_pdu(decoded)
    assert int(api.v1.apiPDU.get_request_id(pdu)) == 77
    assert [str(o) for o, _ in api.v1.apiPDU.get_varbinds(pdu)] == [oid, "1.3.6.1.2.1.1.3.0"]


@pytest.mark.parametrize(
    ("masks", "bit", "state"),
    [((0b10, 0, 0), 1, R), ((0, 0b10, 0), 1, A), ((0, 0, 0b10), 1, G), ((0, 0, 0), 1, OFF), ((0b10, 0, 0b10), 1, UNK)],
)
def test_phase_state_from_bits(masks: tuple[int, int, int], bit: int, state: SignalState) -> None:
    assert phase_state(dict(zip((R, A, G), masks, strict=True)), bit) is state


def test_group_of() -> None:
    assert [group_of(p) for p in (1, 8, 9, 16)] == [(1, 0), (1, 7), (2, 0), (2, 7)]


@pytest.mark.parametrize("version", ["v1", "v2c"])
def test_driver_follows_the_replayed_controller(version: str) -> None:
    clock = Clock()
    with NtcipAgent(PHASES, clock) as agent:
        config = NtcipConfig(
            host="127.0.0.1", port=agent.port, version=version, heads={"main": 2, "left_arrow": 5, "side": 12}
        )
        controller = NtcipController(config, clock=clock)
        seen = []
        for t in (0.0, 5.0, 10.5, 13.2, 18.4, 21.1):
            clock.t = t
            seen.append(controller.poll())
    assert [s["main"] for s in seen] == [G, G, A, R, R, R]
    assert [s["left_arrow"] for s in seen] == [R, R, R, G, A, R]
    assert {s["side"] for s in seen} == {R}
    feed: SignalPhaseFeed = controller.feed("left_arrow")
    assert feed.source is SignalSource.CONTROLLER
    timeline = feed.timeline()
    assert [(c.t, c.state) for c in timeline.changes] == [(0.0, R), (13.2, G), (18.4, A), (21.1, R)]
    assert timeline.state_at(15.0) is G and controller.failures == 0


def test_unreachable_controller_reads_unknown() -> None:
    clock = Clock()
    with NtcipAgent(PHASES, clock, silent=True) as agent:
        config = NtcipConfig(host="127.0.0.1", port=agent.port, timeout_s=0.05, retries=1, heads={"main": 2})
        controller = NtcipController(config, clock=clock)
        assert controller.poll() == {"main": UNK}
        assert agent.requests == 2  # one retry
    assert controller.failures == 1
    assert controller.timeline("main").state_at(1.0) is UNK
    with pytest.raises(SnmpTimeoutError):
        SnmpClient("127.0.0.1", agent.port, "public", timeout_s=0.02, retries=0).get([status_oid(R, 1)])


@pytest.mark.parametrize("version", ["v1", "v2c"])
def test_missing_object_is_an_error(version: str) -> None:
    with NtcipAgent(PHASES, Clock()) as agent:
        client = SnmpClient("127.0.0.1", agent.port, "public", version=version, timeout_s=0.5)
        with pytest.raises(SnmpError, match=r"noSuchName|noSuchInstance"):
            client.get([status_oid(R, 9)])
        with pytest.raises(SnmpTimeoutError):  # a wrong community gets no answer
            SnmpClient("127.0.0.1", agent.port, "private", timeout_s=0.05, retries=0).get([status_oid(R, 1)])


def test_background_polling_and_config_bounds() -> None:
    clock = Clock()
    with NtcipAgent(PHASES, clock) as agent:
        config = NtcipConfig(host="127.0.0.1", port=agent.port, poll_interval_s=0.01, heads={"main": 2})
        controller = NtcipController(config, clock=clock)
        stop = threading.Event()
        worker = threading.Thread(target=controller.run, args=(stop,))
        worker.start()
        while controller.polls < 3:
            stop.wait(0.01)
        stop.set()
        worker.join(timeout=2.0)
    assert controller.timeline("main").state_at(0.0) is G
    with pytest.raises(KeyError, match="no signal head"):
        controller.feed("nope")
    with pytest.raises(ValueError, match="1-255"):
        NtcipConfig(host="x", heads={"main": 0})
