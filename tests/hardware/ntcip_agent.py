"""Test double at the controller boundary: a real UDP SNMP agent serving NTCIP 1202 phase status groups.

The agent is built on pysnmp's own message codec (pyasn1 BER), independent of the driver's hand-written codec, so a
test that passes shows the two speak the same protocol. Each phase's colour comes from a replayed
``SignalTimeline`` (the recorded controller log) at the agent's clock. Start with ``with NtcipAgent(...) as agent``;
it binds 127.0.0.1 on a free port.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from types import TracebackType

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

from hardware.signal import SignalTimeline
from hardware.signals.ntcip import COLUMNS, PHASE_STATUS_GROUP, group_of
from kuzet.contracts import SignalState

MAX_GROUPS = 2


class NtcipAgent:
    """Serves ``phaseStatusGroup{Reds,Yellows,Greens}.<group>`` computed from per-phase timelines.

    Args:
        phases: phase number -> the replayed timeline of what it shows.
        clock: the agent's time (the replay's time axis).
        community: the only community answered (others are ignored, as a real agent does).
        silent: drop every request (an unreachable controller).
    """

    def __init__(
        self,
        phases: dict[int, SignalTimeline],
        clock: Callable[[], float],
        community: str = "public",
        silent: bool = False,
    ) -> None:
        self.phases, self.clock, self.community, self.silent = phases, clock, community, silent
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.requests = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def value(self, oid: str) -> int | None:
        """The mask an OID names, or None when the agent has no such object."""
        prefix = PHASE_STATUS_GROUP + "."
        if not oid.startswith(prefix):
            return None
        column, _, group = oid[len(prefix) :].partition(".")
        states = {str(v): k for k, v in COLUMNS.items()}
        if column not in states or not group.isdigit() or not 1 <= int(group) <= MAX_GROUPS:
            return None
        mask = 0
        for phase, timeline in self.phases.items():
            g, bit = group_of(phase)
            if g == int(group) and timeline.state_at(self.clock()) is states[column]:
                mask |= 1 << bit
        return mask

    def _answer(self, data: bytes) -> bytes | None:
        version = int(api.decodeMessageVersion(data))
        module = api.PROTOCOL_MODULES[version]
        request, _ = decoder.decode(data, asn1Spec=module.Message())
        if str(module.apiMessage.get_community(request)) != self.community:
            return None
        response = module.apiMessage.get_response(request)
        pdu_in, pdu_out = module.apiMessage.get_pdu(request), module.apiMessage.get_pdu(response)
        varbinds = []
        for index, (oid, _) in enumerate(module.apiPDU.get_varbinds(pdu_in), start=1):
            value = self.value(str(oid))
            if value is None and version == api.SNMP_VERSION_1:
                module.apiPDU.set_error_status(pdu_out, 2)  # noSuchName
                module.apiPDU.set_error_index(pdu_out, index)
                varbinds.append((oid, module.Null("")))
            elif value is None:
                varbinds.append((oid, api.v2c.NoSuchInstance("")))
            else:
                varbinds.append((oid, module.Integer(value)))
        module.apiPDU.set_varbinds(pdu_out, varbinds)
        return bytes(encoder.encode(response))

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            self.requests += 1
            if self.silent:
                continue
            answer = self._answer(data)
            if answer is not None:
                self.sock.sendto(answer, peer)

    def __enter__(self) -> NtcipAgent:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.sock.close()


__all__ = ["NtcipAgent", "SignalState"]
