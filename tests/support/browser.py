"""Debian chromium for the browser tests: where it is, how it is launched, and the skip when it is absent."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Headless as root, and quiet on a machine whose only network is loopback.
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
E2E = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (make browser installs it)"),
]


def watch_csp(page: Any) -> list[str]:
    """Collect the page's Content-Security-Policy violations (Chromium logs one console error for each)."""
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None)
    return seen


def wait_until(page: Any, expression: str, timeout: float = 30_000) -> None:
    """Poll a JavaScript expression until it is truthy (``timeout`` in ms, as Playwright's).

    ``page.wait_for_function`` compiles its predicate inside the page, which the pages' CSP (no ``unsafe-eval``)
    refuses; ``page.evaluate`` goes through the DevTools protocol, which a CSP does not govern.
    """
    from playwright.sync_api import Error

    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            if page.evaluate(expression):
                return
        except Error as exc:  # the page is navigating (a reload after a form): ask the next page
            # mid-navigation the new document may not have its elements yet ("... of null"); an element that never
            # appears still fails, as a timeout below
            if not any(m in str(exc) for m in ("context was destroyed", "navigat", "properties of null")):
                raise
        if time.monotonic() > deadline:
            raise TimeoutError(f"{expression} still false after {timeout / 1000:g} s")
        time.sleep(0.05)
