"""A local SMTP server for the load test, in its own process (``python -m kuzet.city.smtpsink PORT FILE``): accepts
every message and appends ``<unix time>\t<recipient>`` per accepted recipient to FILE, until SIGTERM."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from aiosmtpd.controller import Controller


class Sink:
    """aiosmtpd handler writing one line per accepted recipient."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802
        """aiosmtpd hook: record the acceptance time of each recipient."""
        now = time.time()
        self.out.write("".join(f"{now:.4f}\t{rcpt}\n" for rcpt in envelope.rcpt_tos))
        return "250 accepted"


def main(port: int, path: Path) -> None:
    """Serve on 127.0.0.1:``port`` until SIGTERM; flush ``path`` every 0.5 s."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with path.open("a", encoding="utf-8") as out:
        controller = Controller(Sink(out), hostname="127.0.0.1", port=port)
        controller.start()
        try:
            while not stop.wait(0.5):
                out.flush()
        finally:
            controller.stop()
            out.flush()


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
