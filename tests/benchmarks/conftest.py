"""Benchmarks report their figures through this helper so `make bench` prints one table at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

_REPORT: list[str] = []


@pytest.fixture
def report() -> Iterator[list[str]]:
    """Append human-readable result lines; they are printed in the terminal summary."""
    yield _REPORT


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _REPORT:
        terminalreporter.section("kuzet benchmark figures")
        for line in _REPORT:
            terminalreporter.write_line(line)
