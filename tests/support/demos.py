"""Demo-style runs that only tests use (they were demo hooks of the command line once; ``kuzet demo`` does not run
them): the face and plate models on the samples, the notification outbox over a local SMTP server, and the bundled
street clip's violations through the traffic agent's single pass."""

from __future__ import annotations

import time
from pathlib import Path


def faces_demo_lines(samples: Path) -> list[str]:
    """Offline demo of the face models on ``samples/faces``: detect, embed, match, mask; returns summary lines.

    Enrols ``rose_leslie.jpg`` and ``obama_small.jpg`` and finds them in ``kit_with_rose.jpg`` and
    ``obama-240p.jpg`` (threshold: the embedder's own cosine at FAR 1e-3 per comparison).
    """
    import time

    import numpy as np

    from models.faces.config import FaceDetectorConfig, MaskConfig
    from models.faces.detector import build_face_detector
    from models.faces.embedder import build_face_embedder
    from models.faces.folders import read_image
    from models.faces.mask import build_mask_classifier
    from models.faces.openset import threshold_at

    folder = samples / "faces" if (samples / "faces").is_dir() else samples
    detector, embedder = build_face_detector(FaceDetectorConfig()), build_face_embedder()
    masks = build_mask_classifier(MaskConfig())
    threshold = threshold_at(embedder.far_table, 1e-3)
    names, gallery = [], []
    for name, file in (("rose_leslie", "rose_leslie.jpg"), ("obama", "obama_small.jpg")):
        image = read_image(folder / file)
        if image is None:
            return [f"faces demo: {folder / file} is missing"]
        faces = detector.detect(image)
        gallery.append(embedder.embed(image, faces[int(np.argmax(faces.area))])[0])
        names.append(name)
    lines = []
    for file in ("kit_with_rose.jpg", "obama-240p.jpg"):
        image = read_image(folder / file)
        if image is None:
            return [f"faces demo: {folder / file} is missing"]
        start = time.perf_counter()
        faces = detector.detect(image)
        scores = embedder.embed(image, faces) @ np.stack(gallery).T
        masked = masks.is_masked(masks.predict(image, faces))
        ms = 1000 * (time.perf_counter() - start)
        who = [
            f"{names[int(row.argmax())] if row.max() >= threshold else 'unknown'} ({row.max():.3f}, mask={bool(m)})"
            for row, m in zip(scores, masked, strict=True)
        ]
        lines.append(f"faces: {file}: {len(faces)} face(s) in {ms:.0f} ms: " + ", ".join(who))
    return lines


def plates_demo_lines(samples: Path) -> list[str]:
    """Offline plate demo on synthetic KZ plates (no sample media needed; ``samples`` is unused): read, grammar,
    a multi-frame vote and a watchlist hit. About 2-5 s; returns summary lines for ``kuzet demo``."""
    from datetime import UTC, datetime

    from edge.traffic.watchlist import Watchlist
    from kuzet.contracts import ClockSource
    from models.plates.config import PlateReaderConfig, VoteConfig
    from models.plates.ocr import build_plate_reader
    from models.plates.synth import SynthConfig, generate
    from models.plates.vote import read_track

    del samples
    plates = generate(12, seed=7)
    reader = build_plate_reader(PlateReaderConfig(region="kz"))
    began = time.perf_counter()
    reads = reader.read_batch([p.image for p in plates])
    ms = 1000 * (time.perf_counter() - began) / len(plates)
    exact = sum(r.text == p.text for r, p in zip(reads, plates, strict=True))
    first = reads[0]
    lines = [
        f"plates: {exact}/{len(plates)} synthetic KZ plates read exactly with the KZ grammar ({ms:.0f} ms/plate)",
        f"plates: e.g. {first.text} ({first.plate_format}, {first.region}, confidence {first.confidence:.2f})",
    ]
    looks = (SynthConfig(blur_sigma=2.0, noise_std=14.0), SynthConfig(perspective=0.1), SynthConfig())
    frames = [generate(1, seed=7, config=look)[0].image for look in looks]  # one plate, three frames
    track = read_track(reader, frames, VoteConfig(min_plate_width=20))
    lines.append(
        f"plates: track vote over {track.frames_read} frames -> {track.text}"
        f" ({track.agreeing} agreeing, evidence crop {track.crop.shape[1]}x{track.crop.shape[0]} px)"
    )
    watchlist = Watchlist([(plates[0].text, "stolen"), ("777KZX17", "wanted")])
    alert = watchlist.check(track.text, track.confidence, "demo-cam", datetime.now(UTC), ClockSource.SYSTEM)
    lines.append(
        f"plates: watchlist -> {alert.reason} plate {alert.plate_listed} (distance {alert.distance})"
        if alert
        else "plates: watchlist -> no hit"
    )
    return lines


class _CountingInbox:
    """aiosmtpd handler that only counts the messages it accepts."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        """aiosmtpd hook: count the message."""
        self.count += 1
        return "250 accepted"


def _deliver_over_smtp(path: Path) -> int:
    """One outbox worker round on the database at ``path`` through a local SMTP server; messages it received."""
    import socket

    from aiosmtpd.controller import Controller

    from backend.db import connector
    from notifications.channels.smtp import SmtpChannel
    from notifications.config import SmtpConfig, WorkerConfig
    from notifications.worker import OutboxWorker

    inbox = _CountingInbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        channel = SmtpChannel(SmtpConfig(host="127.0.0.1", port=port, sender="kuzet@example.kz", starttls=False))
        worker = OutboxWorker(connector(path), {"email": channel}, WorkerConfig())
        worker.run_once()
        worker.close()
    finally:
        controller.stop()
    return inbox.count


def notifications_demo(work_dir: Path) -> list[str]:
    """Render a sample entry in kk/ru/en, queue it and deliver it through a local SMTP server.

    Runs offline in about a second; returns summary lines.
    """
    from datetime import UTC, datetime

    from backend.db import connect, migrate, transaction
    from notifications import outbox
    from notifications.templates import render

    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / f"notify-demo-{int(time.time() * 1000)}.sqlite"
    db = connect(path)
    migrate(db)
    when = datetime(2026, 9, 1, 2, 52, tzinfo=UTC)
    lines = []
    with transaction(db) as conn:
        for language in ("kk", "ru", "en"):
            subject, body = render("entered", language, name="Aruzhan", time=when)
            outbox.enqueue(
                conn,
                channel="email",
                recipient=f"guardian-{language}@example.kz",
                subject=subject,
                body=body,
                dedupe_key=f"demo:{language}",
                school_id="demo",
                kind="entered",
                language=language,
            )
            lines.append(f"notify: parent message [{language}] {body}")
    received = _deliver_over_smtp(path)
    lines.append(
        f"notify: {outbox.counts(db.conn)['sent']} of 3 delivered to a local SMTP server ({received} received)"
    )
    db.conn.close()
    return lines


CLIP_CONFIG = "traffic/ozlu.yaml"
CLIP_FRAMES = 250  # ~10.4 s at 24 fps: southbound cars cross the configured stop line after the replayed red


def clip_demo(samples_dir: Path, work_dir: Path) -> list[str]:
    """Violations from the bundled street clip: the traffic agent's own single pass, with the enforcement geometry
    that the device file configures.

    The clip's device file configures the stop line, the replayed controller phases and the school-zone limit
    (``samples/traffic/ozlu.yaml``); packages go to ``work_dir/evidence/<camera_id>``, events to a spool in
    ``work_dir``. ``kuzet demo`` runs the same pass, on 300 frames, in ``kuzet.demo.traffic``.
    """
    config_path = samples_dir / CLIP_CONFIG
    if not config_path.is_file():
        return [f"clip demo skipped: {config_path} is absent"]
    from edge.spool import Spool
    from edge.traffic.agent import run_agent
    from edge.traffic.config import TrafficDeviceConfig, resolve_paths
    from edge.traffic.evidence_verify import verify_chain
    from kuzet.commands.common import load_or_exit
    from kuzet.demo.support import DEMO_T0
    from kuzet.demo.traffic import street_config

    device = load_or_exit(config_path, TrafficDeviceConfig)
    traffic = street_config(resolve_paths(device.traffic, config_path.parent), work_dir, device.camera_id)
    if traffic.violations is None:
        return [f"clip demo skipped: {config_path} has no violations section"]
    work_dir.mkdir(parents=True, exist_ok=True)
    spool = Spool(work_dir / "clip-spool.sqlite")
    try:
        stats = run_agent(traffic, traffic.source, spool, device.camera_id, device.clock_source, CLIP_FRAMES, DEMO_T0)
    finally:
        spool.close()
    evidence = traffic.violations.evidence
    lines = [f"clip {Path(traffic.source).name}: {stats.frames} frames, {len(stats.summaries)} confirmed tracks"]
    for v, package in stats.violations:
        speed = f"{v.speed_kmh:.1f} ± {v.speed_sigma_kmh:.1f} km/h" if v.speed_kmh and v.speed_sigma_kmh else "-"
        lines.append(f"clip violation {v.kind} track {v.track_id} t+{v.t - DEMO_T0:.2f} s {speed} -> {package.name}")
    if stats.violations:
        trusted = (evidence.key_dir / f"{device.camera_id}.ed25519.pub").read_text().strip()
        problems = verify_chain(evidence.chain_dir, trusted)
        lines.append(f"evidence verify {evidence.chain_dir}: " + ("OK" if not problems else "; ".join(problems)))
    return lines
