"""Fingerprints of the package code a workflow stage runs.

Snakemake reruns a `script:` job when the script file changes, but never when a module the
script imports changes. Each rule therefore carries, as a param, the hash of its stage module
and everything inside this package that it imports (found by walking the import statements),
so an edit to that code, and only to that code, reruns the stage.

Finding the imports means parsing every module the stages reach (about 90 files, 17 stages:
0.3 s to 1.3 s of every parse, by machine). A `cache_file` keeps what each file imports, keyed by a hash
of its bytes: the next parse reads and hashes the files, as the fingerprint itself must, and
parses only those that changed. Content, not size and mtime, is the key: a fresh clone or a
`touch` still hits, and a file restored with its old mtime cannot serve stale imports.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

PACKAGE = "labeldistill"
# Bump when what `_imports_in_source` finds changes, so that cached findings are not reused.
CACHE_VERSION = 1
# Entries kept in a cache file (the ~90 modules, each in a few versions): the least recent go.
CACHE_ENTRIES = 1024


def _module_file(src_root: Path, module: str) -> Path | None:
    base = src_root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path, module: str, cache: dict[str, list[str]] | None = None) -> set[str]:
    """Every module of this package named by an import statement in `path` (anywhere in it);
    `cache` maps `_source_key`s to findings, and gains the ones it lacked."""
    source = path.read_bytes()
    is_package = path.name == "__init__.py"
    if cache is None:
        return set(_imports_in_source(source, module, is_package, str(path)))
    key = _source_key(source, module, is_package)
    found = cache.pop(key, None)  # put back last: the least recently used go first
    if not isinstance(found, list):
        found = sorted(_imports_in_source(source, module, is_package, str(path)))
    cache[key] = found
    return set(found)


def _source_key(source: bytes, module: str, is_package: bool) -> str:
    """What a file's imports depend on: its bytes, and its module's name (relative imports)."""
    return hashlib.sha256(f"{module}\0{int(is_package)}\0".encode() + source).hexdigest()[:32]


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


def module_closure(src_root: Path, module: str, cache: dict[str, list[str]] | None = None) -> dict[str, Path]:
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
        todo.extend(_imported_modules(path, name, cache))
    return seen


def code_fingerprint(src_root: Path, module: str, cache_file: Path | str | None = None) -> str:
    """A short hash of the source of `module` and all package code it imports.

    `cache_file` (a JSON file, made if missing) keeps the imports found in each file between
    processes; the hash is the same with or without it.
    """
    cache = None if cache_file is None else _read_cache(Path(cache_file))
    known = None if cache is None else dict(cache)
    digest = hashlib.sha256()
    for name, path in sorted(module_closure(src_root, module, cache).items()):
        digest.update(name.encode())
        digest.update(path.read_bytes())
    if cache is not None and cache != known:  # written only when a file was parsed
        _write_cache(Path(cache_file), cache)
    return digest.hexdigest()[:16]


def _read_cache(path: Path) -> dict[str, list[str]]:
    """The cached findings, or none where the file is missing, unreadable or of another version."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict) or record.get("version") != CACHE_VERSION:
        return {}
    entries = record.get("imports")
    return dict(entries) if isinstance(entries, dict) else {}


def _write_cache(path: Path, cache: dict[str, list[str]]) -> None:
    """Write whole (under a hidden name, then renamed); a folder that cannot be written is no error."""
    kept = dict(list(cache.items())[-CACHE_ENTRIES:])
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")  # parses may run side by side
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps({"version": CACHE_VERSION, "imports": kept}), encoding="utf-8")
        partial.replace(path)
    except OSError as error:
        log.debug("fingerprint cache %s not written: %s", path, error)
