"""The device's local health endpoint: spool depth, last successful upload, uplink errors."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from edge.spool import Spool
from edge.uplink import UplinkStatus

logger = logging.getLogger(__name__)


def health_report(
    camera_id: str, spool: Spool, status: UplinkStatus, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON the endpoint serves."""
    last = status.last_success
    return {
        "camera_id": camera_id,
        "spool_depth": spool.depth(),
        "rejected": spool.rejected_count(),
        "last_successful_upload": last,
        "seconds_since_upload": None if last is None else round(time.time() - last, 3),
        "uplink_error": status.last_error if status.consecutive_failures else None,
        "consecutive_failures": status.consecutive_failures,
        **(extra or {}),
    }


class HealthServer:
    """A tiny HTTP server in a thread: ``GET /health`` returns ``report()`` as JSON."""

    def __init__(self, host: str, port: int, report: Callable[[], dict[str, Any]]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.rstrip("/") != "/health":
                    self.send_error(404, "only /health is served")
                    return
                body = json.dumps(report()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("health: " + format, *args)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="health", daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> HealthServer:
        """Serve in the background."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Shut the server down."""
        self.server.shutdown()
        self.server.server_close()
