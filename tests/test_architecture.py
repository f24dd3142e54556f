"""The one-way house: every module's imports flow down the layers, and nothing imports in a circle.

Layers, bottom to top (``../shared/ARCHITECTURE.md``):
    0  ``kuzet.contracts`` and ``kuzet.config`` (the wire contract and the shared config base)
    1  ``hardware``, ``models``            (siblings: neither imports the other)
    2  ``edge``, ``notifications``        (siblings)
    3  ``backend``
    4  the command line, the evaluations and the demo (``kuzet.cli``, ``kuzet.commands``, ``kuzet.eval``,
       ``kuzet.demo``): imported by nothing but tests.
A module may import its own area (the same top-level package; inside ``kuzet``, the same entry of ``LAYERS``) and any
area of a lower layer; the top layer's parts may use each other. The folder graph is checked for cycles too, which
is why the bottom of ``kuzet`` lives in folders of its own (``kuzet/contracts/``, ``kuzet/config/``).
The imports are read from the source with ``ast``, including those inside functions and under ``TYPE_CHECKING``,
so a deferred import cannot hide an edge.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = 4
PACKAGES = ("kuzet", "hardware", "models", "edge", "notifications", "backend")
LAYERS: dict[str, int] = {
    "kuzet.contracts": 0,
    "kuzet.config": 0,
    "kuzet": 0,  # the package's own __init__: imports nothing of the project
    "hardware": 1,
    "models": 1,
    "edge": 2,
    "notifications": 2,
    "backend": 3,
    "kuzet.cli": 4,
    "kuzet.__main__": 4,
    "kuzet.commands": 4,
    "kuzet.eval": 4,
    "kuzet.devsets": 4,
    "kuzet.demo": 4,
    "kuzet.city": 4,
}


def area(module: str) -> str:
    """The layer key of a module: the longest prefix of it named in ``LAYERS``."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in LAYERS:
            return key
    raise KeyError(module)


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


MODULES = project_modules()


def resolve(name: str) -> str | None:
    """The project module an import names (``a.b.c`` may be the attribute ``c`` of module ``a.b``)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path) -> set[str]:
    """Project modules imported anywhere in ``path`` (relative imports resolved against ``module``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    targets = {resolve(n) for n in names if n.split(".")[0] in PACKAGES}
    return {t for t in targets if t is not None and t != module}


GRAPH = {module: imports_of(module, path) for module, path in MODULES.items()}


def allowed(source: str, target: str) -> bool:
    """Whether ``source`` may import ``target`` under the layer rule."""
    a, b = area(source), area(target)
    top_a, top_b = source.partition(".")[0], target.partition(".")[0]
    if a == b or top_a == top_b != "kuzet":
        return True
    return LAYERS[b] < LAYERS[a] or LAYERS[a] == LAYERS[b] == TOP


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        area(module)


def test_imports_flow_down_the_layers() -> None:
    wrong = sorted(f"{s} -> {t}" for s, targets in GRAPH.items() for t in targets if not allowed(s, t))
    assert wrong == [], "imports against the layer direction:\n" + "\n".join(wrong)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of nodes (first == last), or None (iterative DFS, white/grey/black)."""
    colour: dict[str, int] = defaultdict(int)
    for start in sorted(graph):
        if colour[start]:
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph.get(start, ())))]
        path = [start]
        colour[start] = 1
        while stack:
            node, pending = stack[-1]
            if not pending:
                colour[node] = 2
                stack.pop()
                path.pop()
                continue
            nxt = pending.pop()
            if colour[nxt] == 1:
                return [*path[path.index(nxt) :], nxt]
            if colour[nxt] == 0:
                colour[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(graph.get(nxt, ()))))
    return None


def folder_of(module: str) -> str:
    path = MODULES[module]
    rel = path.relative_to(ROOT).parent
    return ".".join(rel.parts)


def test_no_module_cycle() -> None:
    # A package __init__ that re-exports its children is not a cycle of ideas: drop child -> own parent edges.
    graph = {s: {t for t in ts if not s.startswith(t + ".")} for s, ts in GRAPH.items()}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_folder_cycle() -> None:
    folders: dict[str, set[str]] = defaultdict(set)
    for source, targets in GRAPH.items():
        a = folder_of(source)
        folders[a].update(b for b in map(folder_of, targets) if b != a and not a.startswith(b + "."))
    cycle = find_cycle(dict(folders))
    assert cycle is None, "folder cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ("edge.school.pipeline", "models.faces.detector", True),
        ("models.faces.detector", "edge.school.pipeline", False),
        ("hardware.signal", "models.lights", False),
        ("notifications.worker", "backend.db", False),
        ("backend.app", "notifications.outbox", True),
        ("edge.school.pipeline", "kuzet.demo.school", False),
        ("kuzet.demo.thermal", "edge.school.pipeline", True),
        ("edge.config", "kuzet.config", True),
        ("kuzet.contracts", "models.detections", False),
        ("backend.services.ingest", "kuzet.demo", False),
        ("kuzet.cli", "kuzet.commands.school", True),
        ("kuzet.demo.school", "kuzet.commands.common", True),
        ("kuzet.contracts", "kuzet.cli", False),
        ("edge.uplink", "notifications.outbox", False),
    ],
)
def test_the_rule_itself(source: str, target: str, expected: bool) -> None:
    assert allowed(source, target) is expected


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
