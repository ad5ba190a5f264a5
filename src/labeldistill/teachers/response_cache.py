"""A persistent cache of LLM responses: an identical request is never paid twice.

One JSON file per entry, `<root>/<key[:2]>/<key>.json`, where the key is a sha256 of everything
that determines the answer (see `request_key`). Why files and not SQLite: SQLite's locking is
unreliable on NFS, the shared file system of most clusters; a file written to a unique temporary
name in the same directory and then renamed with `os.replace` is atomic there too, so readers see
a whole entry or none, and any number of processes (Snakemake jobs, on several nodes) can share
one cache without locks. A run killed at any moment leaves at worst a stray temporary file; an
entry that does not parse (a torn write from a crashed node) is treated as a miss and logged.

Entries hold what is needed to parse the label (text, logprobs, usage, model, fingerprint),
never an API key or a header.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_ENV = "LABELDISTILL_CACHE"
ENTRY_SUFFIX = ".json"
TEMP_SUFFIX = ".tmp"
# Host, process and a counter make a temporary name no other writer (on any node) can hold.
_HOST = socket.gethostname().replace("/", "_")
_WRITE_COUNTER = itertools.count()


def default_cache_dir() -> Path:
    """`$LABELDISTILL_CACHE`, else `~/.cache/labeldistill/responses`."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "labeldistill" / "responses"


def canonical_json(value: object) -> str:
    """One spelling per value (sorted keys, no spaces, UTF-8 kept): the basis of every key."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_key(
    backend: str,
    model: str,
    messages: list[dict],
    sampling: dict,
    sample: int,
) -> str:
    """sha256 hex of what determines an answer.

    `sampling` holds every request setting that can change the answer (temperature, max_tokens,
    logprobs, top_logprobs, response_format, seed...). The endpoint's URL is left out on purpose:
    the same model behind another URL gives the same answer.
    """
    payload = {
        "backend": backend,
        "model": model,
        "messages": messages,
        "sampling": sampling,
        "sample": int(sample),
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CacheSize:
    entries: int
    bytes: int


class ResponseCache:
    """Sharded JSON files under `root`; counts hits, misses and unreadable entries."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self._root = str(self.root)
        self.hits = 0
        self.misses = 0
        self.corrupt = 0
        self._made_dirs: set[str] = set()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{ENTRY_SUFFIX}"

    def get(self, key: str) -> dict | None:
        """The stored response body, or None (a miss; also for a torn or corrupt entry)."""
        path = self.path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.misses += 1
            return None
        try:
            entry = json.loads(text)
            response = entry["response"]
            if entry.get("key") != key or not isinstance(response, dict):
                raise ValueError("entry does not belong to its key")
        except (ValueError, KeyError, TypeError) as error:
            # A torn write (crash of a node mid-write on a file system without atomic rename)
            # must cost one request again, never the run.
            self.corrupt += 1
            self.misses += 1
            log.warning("response cache entry %s is unreadable (%s): treated as a miss", path, error)
            return None
        self.hits += 1
        return response

    def get_many(self, keys) -> dict[str, dict]:
        """The stored responses of those `keys` that have one (hits and misses counted)."""
        found = {}
        for key in keys:
            response = self.get(key)
            if response is not None:
                found[key] = response
        return found

    def put(self, key: str, response: dict, request: dict | None = None) -> None:
        """Store `response` atomically. `request` is an optional summary kept for people reading
        the cache (model, settings, text): it must never hold a key or header."""
        directory = os.path.join(self._root, key[:2])
        if directory not in self._made_dirs:
            os.makedirs(directory, exist_ok=True)
            self._made_dirs.add(directory)
        data = canonical_json({"key": key, "request": request, "response": response}).encode("utf-8")
        # Unique per process and call, in the same directory: os.replace is then atomic, also on
        # NFS, and two writers of the same key never clobber each other's temporary file. Plain
        # os calls: this runs once per answer, at up to a thousand answers a second.
        temporary = os.path.join(
            directory, f".{key}.{_HOST}.{os.getpid()}.{next(_WRITE_COUNTER)}{TEMP_SUFFIX}"
        )
        try:
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(handle, data)
            finally:
                os.close(handle)
            os.replace(temporary, os.path.join(directory, f"{key}{ENTRY_SUFFIX}"))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def __contains__(self, key: str) -> bool:
        return self.path(key).exists()

    def size(self) -> CacheSize:
        """Number of entries and their bytes on disk (temporary files left by killed runs excluded)."""
        entries = 0
        total = 0
        if not self.root.exists():
            return CacheSize(0, 0)
        for shard in self.root.iterdir():
            if not shard.is_dir():
                continue
            for file in shard.iterdir():
                if file.name.endswith(ENTRY_SUFFIX) and not file.name.startswith("."):
                    entries += 1
                    total += file.stat().st_size
        return CacheSize(entries, total)

    def clear(self) -> int:
        """Delete every entry (and stray temporary files); returns the number of entries removed."""
        removed = self.size().entries
        if self.root.exists():
            for shard in self.root.iterdir():
                if shard.is_dir() and len(shard.name) == 2:
                    shutil.rmtree(shard, ignore_errors=True)
        self._made_dirs.clear()
        log.info("cleared %d cached responses under %s", removed, self.root)
        return removed
