"""The data-access rule stays true: SQL lives in ``backend/store`` only, and services raise domain errors.

Routes parse, authorise and call services or stores; services decide; only stores (and ``backend/db.py``, which owns
the connection pragmas and the migration bookkeeping, and the migrations themselves) write SQL. The source is read
with ``ast``, so a statement cannot hide in a helper or behind a different variable name.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[2] / "backend"
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|PRAGMA)\b", re.S)
CHECKED = sorted(
    p
    for p in [*BACKEND.glob("*.py"), *BACKEND.glob("routes/*.py"), *BACKEND.glob("services/*.py")]
    if p.name != "db.py"
)


def _name(path: Path) -> str:
    return str(path.relative_to(BACKEND))


def sql_in(source: str) -> list[str]:
    """Every ``.execute*(...)`` call and every string literal that reads as a SQL statement, with its line."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("execute", "executemany", "executescript"):
                found.append(f"line {node.lineno}: .{node.func.attr}(...)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            found.append(f"line {node.lineno}: {node.value[:60]!r}")
    return found


@pytest.mark.parametrize("path", CHECKED, ids=_name)
def test_no_sql_outside_the_store(path: Path) -> None:
    assert sql_in(path.read_text()) == [], f"{_name(path)} writes SQL; put it in a backend/store module"


def imports_of(path: Path) -> list[str]:
    """Every module (or ``module.name``) the file imports, at any depth."""
    return [
        alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]


@pytest.mark.parametrize("path", sorted(BACKEND.glob("services/*.py")), ids=_name)
def test_services_raise_domain_errors_not_http(path: Path) -> None:
    http = [m for m in imports_of(path) if m.startswith(("backend.errors", "fastapi.HTTPException", "backend.routes"))]
    assert http == [], f"{_name(path)} imports {http}; raise a backend.services.errors.DomainError instead"


@pytest.mark.parametrize("path", sorted(BACKEND.glob("store/*.py")), ids=_name)
def test_stores_know_no_services_routes_or_http(path: Path) -> None:
    upward = [
        m for m in imports_of(path) if m.startswith(("backend.services", "backend.routes", "backend.errors", "fastapi"))
    ]
    assert upward == [], f"{_name(path)} imports {upward}; stores return rows and their callers decide"


@pytest.mark.parametrize(
    ("source", "hits"),
    [
        ('conn.execute("SELECT 1 FROM t")', 2),
        ("db.executemany(q, rows)", 1),
        ('sql = "DELETE FROM outbox WHERE x = 1"', 1),
        ('q = "INSERT OR IGNORE INTO t(a) VALUES (1)"', 1),
        ('"""Select the rows from the table and update the set."""', 0),
        ('x = "UPDATE: done"', 0),
    ],
)
def test_the_scanner_itself(source: str, hits: int) -> None:
    assert len(sql_in(source)) == hits
