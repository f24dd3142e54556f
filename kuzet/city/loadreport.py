"""Figures of a load-test run: rates, latencies, CPU, the plots over time and the paper sizing."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kuzet.city.loadgen import LoadPlan, Sent

PEAK_ENTRY_EVENTS_S = 6000.0
"""Kazakhstan's 07:30-08:00 school-entry peak (~7,500 schools), events/s."""
CAMERAS = 28_000
"""Enforcement cameras in the country, about one vehicle event a second each."""
NODE_CORES = 16
"""Cores of one sized node."""
HEADROOM = 0.6
"""Share of a node's cores the sizing plans to use at the peak."""


@dataclass
class Measured:
    """One target's run: its figures and its per-second series."""

    name: str
    planned_rate: float
    events: int = 0
    refused: int = 0
    not_sent: int = 0
    duplicates: int = 0
    span_s: float = 0.0
    latency_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    to_smtp_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    messages_expected: int = 0
    messages_accepted: int = 0
    cpu_s: float = 0.0
    cpu_by_process: dict[str, float] = field(default_factory=dict)
    series: dict[str, list[float]] = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)
    faults: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The figures of the report."""

        def pct(values: np.ndarray, q: float) -> float | None:
            return round(float(np.percentile(values, q)), 3) if len(values) else None

        return {
            "planned_events_per_s": self.planned_rate,
            "events": self.events,
            "refused_requests": self.refused,
            "events_not_sent_in_3x_duration": self.not_sent,
            "span_s": round(self.span_s, 1),
            "events_per_s": round(self.events / self.span_s, 1) if self.span_s else 0.0,
            "ingest_latency_p50_s": pct(self.latency_s, 50),
            "ingest_latency_p95_s": pct(self.latency_s, 95),
            "ingest_to_smtp_p95_s": pct(self.to_smtp_s, 95),
            "parent_messages_expected": self.messages_expected,
            "parent_messages_accepted_by_smtp": self.messages_accepted,
            "smtp_messages_beyond_one_per_pass": self.duplicates,
            "outbox_rows": self.outbox,
            "cpu_s": round(self.cpu_s, 1),
            "cpu_s_per_1000_events": round(1000 * self.cpu_s / self.events, 3) if self.events else None,
            "cpu_ms_per_event_by_process": {
                name: round(1000 * cpu / self.events, 3) if self.events else None
                for name, cpu in self.cpu_by_process.items()
            },
            **({"api_sigkilled_twice_during_stream": self.faults} if self.faults else {}),
        }


def measure(name: str, sent: Sent, smtp_log: Path, cpu_s: float, plan: LoadPlan) -> Measured:
    """Figures from what the sender saw and when the SMTP server accepted each message."""
    ok = [b for b in sent.batches if b[3] == 200]
    result = Measured(name, plan.rate, cpu_s=cpu_s, refused=sum(1 for b in sent.batches if b[3] not in (200, -1)))
    result.not_sent = sum(b[4] for b in sent.batches if b[3] == -1)
    if not ok:
        return result
    start = min(b[1] for b in ok)
    result.events = sum(b[4] for b in ok)
    result.span_s = max(b[2] for b in ok) - start
    result.latency_s = np.repeat([b[2] - b[1] for b in ok], [b[4] for b in ok])
    accepted: dict[str, list[float]] = defaultdict(list)
    if smtp_log.exists():
        for line in smtp_log.read_text().splitlines():
            at, _, rcpt = line.partition("\t")
            accepted[rcpt].append(float(at))
    waits = []
    for rcpt, passes in sent.passes.items():
        got = sorted(accepted.get(rcpt, []))
        waits += [a - p for p, a in zip(sorted(passes), got, strict=False)]
        result.messages_expected += len(passes)
        result.messages_accepted += min(len(passes), len(got))
        result.duplicates += max(0, len(got) - len(passes))
    result.to_smtp_s = np.asarray(waits)
    result.series = _series(ok, [t for ts in accepted.values() for t in ts], start)
    return result


def _series(ok: list[tuple[float, float, float, int, int]], smtp: list[float], start: float) -> dict[str, list[float]]:
    """Per second from the start: events acknowledged, p95 request latency, messages accepted by SMTP."""
    seconds = math.ceil(max([b[2] for b in ok] + smtp) - start) + 1
    events, smtp_n = np.zeros(seconds), np.zeros(seconds)
    latencies: dict[int, list[float]] = defaultdict(list)
    for _, began, done, _, n in ok:
        events[int(done - start)] += n
        latencies[int(done - start)].append(done - began)
    for at in smtp:
        if at >= start:
            smtp_n[int(at - start)] += 1
    p95 = [float(np.percentile(latencies[s], 95)) if latencies[s] else float("nan") for s in range(seconds)]
    return {"events": events.tolist(), "latency_p95": p95, "smtp": smtp_n.tolist()}


def plot(results: list[Measured], out: Path) -> None:
    """``throughput.png`` and ``latency.png``: each target's series over the run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4))
    for m in results:
        if m.series:
            ax.plot(m.series["events"], label=f"{m.name}: events acknowledged/s")
            ax.plot(m.series["smtp"], linestyle="--", label=f"{m.name}: parent messages accepted by SMTP/s")
    ax.set_xlabel("seconds from the first request")
    ax.set_ylabel("per second")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "throughput.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(9, 4))
    for m in results:
        if m.series:
            ax.plot(m.series["latency_p95"], label=f"{m.name}: ingest request p95 (s)")
    ax.set_xlabel("seconds from the first request")
    ax.set_ylabel("seconds")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)
    plt.close(fig)


def sizing(targets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Cores and nodes for the national peaks from the measured CPU per event (the city setup's, else SQLite's)."""
    measured = targets.get("city") or next(iter(targets.values()))
    per_event = (measured.get("cpu_s_per_1000_events") or 0.0) / 1000.0

    def nodes(rate: float) -> dict[str, float]:
        cores = rate * per_event / HEADROOM
        return {"events_per_s": rate, "cores": round(cores, 1), "nodes": math.ceil(cores / NODE_CORES)}

    return {
        "basis": f"{per_event * 1000:.3f} CPU-s per 1,000 events measured on the city setup (all its processes), "
        f"nodes of {NODE_CORES} cores planned at {HEADROOM:.0%} busy",
        "school_peak": nodes(PEAK_ENTRY_EVENTS_S),
        "cameras": nodes(float(CAMERAS)),
    }
