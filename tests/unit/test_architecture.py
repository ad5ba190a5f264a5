"""The package's floor plan holds: no import circle, and every import points down the layers
(docs/architecture.md draws them). Imports are read from the source, function-level ones too,
so a lazy import cannot hide a circle."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "labeldistill"

# A folder (or a root module) may import from its own folder and from lower ranks only.
RANK = {
    "errors": 0,
    "declare": 1,
    "contracts": 1,
    "conditions": 1,
    "logs": 1,
    "tasks": 2,
    "stats": 2,
    "teachers": 3,
    "students": 3,
    "corpus": 3,
    "report": 3,
    "config": 4,
    "stages": 5,
    "cli": 6,
}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The package modules that `path` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in known:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in known else node.module)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def room(module: str) -> str:
    """The folder or root module a module lives in: labeldistill.teachers.openai.chat -> teachers."""
    return module.split(".")[1] if "." in module else "labeldistill"


def test_no_import_circle():
    edges, state, circles = graph(), {}, []

    def visit(module, path):
        state[module] = "open"
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                circles.append(" -> ".join(path[path.index(target) :] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_every_import_points_down_the_layers():
    upward = []
    for module, targets in graph().items():
        if room(module) == "labeldistill":
            continue  # the empty package file
        for target in targets:
            if (
                room(target) not in (room(module), "labeldistill")
                and RANK[room(target)] >= RANK[room(module)]
            ):
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_every_room_has_a_rank_and_the_root_holds_at_most_eight_modules():
    rooms = {room(module) for module in modules()} - {"labeldistill"}
    assert rooms == set(RANK)
    root_modules = [path for path in PACKAGE.glob("*.py")]
    assert len(root_modules) <= 8


def test_new_package_files_are_empty():
    """An __init__.py enters the code fingerprint of every stage beneath it: keep them empty, so
    that a docstring edit reruns nothing."""
    filled = [
        str(path.relative_to(SRC))
        for path in PACKAGE.rglob("__init__.py")
        if path.parent.name not in ("labeldistill", "teachers", "students") and path.read_text().strip()
    ]
    assert filled == []
