"""NTCIP 1202 (Actuated Signal Controller objects) over SNMP: the signal controller's phase states as a feed.

The controller reports, per phase group of 8 phases, which phases show red, yellow and green
(``phaseStatusGroupReds / Yellows / Greens``, OIDs ``1.3.6.1.4.1.1206.4.2.1.1.4.1.{2,3,4}.<group>``; bit
``n`` of group ``g`` is phase ``8 * (g - 1) + n + 1``). ``NtcipController`` polls those objects with one SNMP GET
(``hardware.signals.snmp``) and keeps, per configured signal head (a phase number, by config), a timeline of phase
changes; ``NtcipController.feed(head_id)`` is that head's ``SignalPhaseFeed``, the same interface as
``ReplaySignalFeed``.

A phase with exactly one colour bit shows that colour; none is ``off`` (dark), several is ``unknown``; a failed
poll (timeout, agent error) is ``unknown`` for every head from that poll on, and is logged and counted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Literal

from pydantic import Field, field_validator

from hardware.signal import PhaseChange, SignalTimeline
from hardware.signals.snmp import SnmpClient, SnmpError
from kuzet.config import StrictModel
from kuzet.contracts import SignalSource, SignalState

logger = logging.getLogger(__name__)

PHASE_STATUS_GROUP = "1.3.6.1.4.1.1206.4.2.1.1.4.1"
"""``phaseStatusGroupEntry`` of NTCIP 1202 (phaseStatusGroupTable)."""
COLUMNS = {SignalState.RED: 2, SignalState.AMBER: 3, SignalState.GREEN: 4}
"""Columns of the entry: phaseStatusGroupReds (.2), Yellows (.3), Greens (.4)."""


def status_oid(state: SignalState, group: int) -> str:
    """OID of the red / yellow / green bit mask of one phase group."""
    return f"{PHASE_STATUS_GROUP}.{COLUMNS[state]}.{group}"


def group_of(phase: int) -> tuple[int, int]:
    """``(group, bit)`` of a phase number (1-based)."""
    return (phase - 1) // 8 + 1, (phase - 1) % 8


def phase_state(masks: dict[SignalState, int], bit: int) -> SignalState:
    """The state of one phase from its group's red/yellow/green masks."""
    lit = [state for state, mask in masks.items() if mask >> bit & 1]
    if not lit:
        return SignalState.OFF
    return lit[0] if len(lit) == 1 else SignalState.UNKNOWN


class NtcipConfig(StrictModel):
    """Where the controller is and which phase drives each signal head."""

    host: str = Field(min_length=1, max_length=253, description="Controller address (IP or name)")
    port: int = Field(default=161, ge=1, le=65535, description="SNMP UDP port")
    community: str = Field(default="public", min_length=1, max_length=64, description="SNMP read community")
    version: Literal["v1", "v2c"] = Field(default="v2c", description="SNMP version")
    timeout_s: float = Field(default=0.5, gt=0.0, le=10.0, description="Wait per SNMP attempt")
    retries: int = Field(default=1, ge=0, le=5, description="Extra attempts after a timeout")
    poll_interval_s: float = Field(default=0.2, gt=0.0, le=10.0, description="Seconds between polls")
    heads: dict[str, int] = Field(
        min_length=1, max_length=32, description="Signal head id -> NTCIP phase number (1-255) driving it"
    )

    @field_validator("heads")
    @classmethod
    def _phases(cls, heads: dict[str, int]) -> dict[str, int]:
        bad = {h: p for h, p in heads.items() if not 1 <= p <= 255}
        if bad:
            raise ValueError(f"phase numbers must be 1-255: {bad}")
        return heads


class NtcipHeadFeed:
    """One signal head's phase changes as a ``SignalPhaseFeed`` (kept up to date by its controller's polls)."""

    def __init__(self, controller: NtcipController, head_id: str) -> None:
        self.controller, self.head_id = controller, head_id

    @property
    def source(self) -> SignalSource:
        """Always the controller."""
        return SignalSource.CONTROLLER

    def timeline(self) -> SignalTimeline:
        """The head's phase changes polled so far."""
        return self.controller.timeline(self.head_id)


class NtcipController:
    """Polls an NTCIP 1202 controller and keeps each configured head's phase changes.

    Args:
        config: controller address and head -> phase map.
        clock: time source stamping each poll (default ``time.time``; the same clock as the camera's tracks).
        client: the SNMP client (default: one built from the config).
    """

    def __init__(
        self, config: NtcipConfig, clock: Callable[[], float] = time.time, client: SnmpClient | None = None
    ) -> None:
        self.config, self.clock = config, clock
        self.client = client or SnmpClient(
            config.host, config.port, config.community, config.version, config.timeout_s, config.retries
        )
        groups = sorted({group_of(p)[0] for p in config.heads.values()})
        self._oids = [status_oid(state, g) for g in groups for state in COLUMNS]
        self._changes: dict[str, list[PhaseChange]] = {h: [] for h in config.heads}
        self._lock = threading.Lock()
        self.failures = 0
        self.polls = 0

    def poll(self) -> dict[str, SignalState]:
        """One GET of the phase status groups; records and returns each head's state (``unknown`` on failure)."""
        t = self.clock()
        try:
            values = self.client.get(self._oids)
            states = {head: self._state(values, phase) for head, phase in self.config.heads.items()}
        except SnmpError as exc:
            self.failures += 1
            logger.warning("ntcip %s:%d poll failed: %s", self.config.host, self.config.port, exc)
            states = dict.fromkeys(self.config.heads, SignalState.UNKNOWN)
        with self._lock:
            self.polls += 1
            for head, state in states.items():
                changes = self._changes[head]
                if not changes or changes[-1].state != state:
                    changes.append(PhaseChange(t, state))
        return states

    @staticmethod
    def _state(values: dict[str, int], phase: int) -> SignalState:
        group, bit = group_of(phase)
        return phase_state({s: values[status_oid(s, group)] for s in COLUMNS}, bit)

    def timeline(self, head_id: str) -> SignalTimeline:
        """The phase changes of one head so far."""
        with self._lock:
            return SignalTimeline(list(self._changes[head_id]), SignalSource.CONTROLLER)

    def feed(self, head_id: str) -> NtcipHeadFeed:
        """One head's ``SignalPhaseFeed``; raises KeyError for a head the config does not name."""
        if head_id not in self.config.heads:
            raise KeyError(f"no signal head {head_id!r} in the NTCIP config (has {sorted(self.config.heads)})")
        return NtcipHeadFeed(self, head_id)

    def run(self, stop: threading.Event) -> None:
        """Poll every ``poll_interval_s`` until ``stop`` is set (the agent runs this on a thread)."""
        while not stop.is_set():
            started = time.monotonic()
            self.poll()
            stop.wait(max(self.config.poll_interval_s - (time.monotonic() - started), 0.0))
