"""Fingerprints of the package code a workflow stage runs.

Snakemake reruns a `script:` job when the script file changes, but never when a module the
script imports changes. Each rule therefore carries, as a param, the hash of its stage module
and everything inside this package that it imports (found by walking the import statements),
so an edit to that code, and only to that code, reruns the stage.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE = "labeldistill"


def _module_file(src_root: Path, module: str) -> Path | None:
    base = src_root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path, module: str) -> set[str]:
    """Every module of this package named by an import statement in `path` (anywhere in it)."""
    source = path.read_bytes()
    return set(_imports_in_source(source, module, path.name == "__init__.py", str(path)))


# Every rule's fingerprint parses the same shared modules again: parse each source once per
# process (keyed by its content, so an edited file is parsed afresh).
@functools.lru_cache(maxsize=1024)
def _imports_in_source(source: bytes, module: str, is_package: bool, filename: str) -> frozenset[str]:
    tree = ast.parse(source, filename=filename)
    package_parts = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                anchor = package_parts[: len(package_parts) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            # `from pkg import name` may import the submodule pkg.name
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return frozenset(name for name in found if name == PACKAGE or name.startswith(PACKAGE + "."))


def module_closure(src_root: Path, module: str) -> dict[str, Path]:
    """The module and every package module it imports, transitively, with their parents."""
    src_root = Path(src_root)
    todo, seen = [module], {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(src_root, name)
        if path is None:
            continue  # a name imported from a module, not a module itself
        seen[name] = path
        parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
        todo.extend(parents)
        todo.extend(_imported_modules(path, name))
    return seen


def code_fingerprint(src_root: Path, module: str) -> str:
    """A short hash of the source of `module` and all package code it imports."""
    digest = hashlib.sha256()
    for name, path in sorted(module_closure(src_root, module).items()):
        digest.update(name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
