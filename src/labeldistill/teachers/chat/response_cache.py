"""A persistent cache of LLM responses: an identical request is never paid twice.

Every answer is one line of JSON appended to a segment file of the writing process,
`<root>/segments/<host>-<pid>-<time>-<random>.jsonl` (see cache_segments), keyed by a sha256 of
everything that determines the answer (see `request_key`). Why segments: creating one file per
answer (the layout before) cost 0.25-0.5 ms on a loaded local disk, half of the API client's CPU
per label at 32-64 requests in flight, and a round trip to the file server on NFS; a put here
costs 12-18 us, JSON encoding included (bench/openai_throughput.py --compare). Why not SQLite:
its locking is unreliable on NFS, the shared file system of most clusters. Each segment has one
writer, so any number of processes (Snakemake jobs, on several nodes) share one cache without
locks; readers index the segments by scanning them (about 650,000 records/s; 180 bytes of
memory per entry) and, on a miss, scan only new segments and new bytes.

Flush policy: each `put` is one `write` call with no buffer in this process, so an answer that was
paid for is in the operating system's hands before it is used: a killed job (SIGKILL, a SLURM
time limit, an out-of-memory kill) loses nothing it stored. No fsync: it would cost a disk flush
(on NFS a round trip) per answer, and only a crash of the node itself can lose what is not yet
on disk; the labels written by the same job are not fsynced either, and a lost or torn answer
costs one request again, never a wrong label (a torn last line is skipped and logged).

Caches written by earlier versions hold one JSON file per entry, `<root>/<key[:2]>/<key>.json`;
they are read in place, never rewritten (a rerun over them sends nothing), and new answers go to
segments. Entries hold what is needed to parse the label (text, logprobs, usage, model,
fingerprint), never an API key or a header: `put` refuses fields with such names.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

from labeldistill.teachers.chat.cache_segments import KEY_LENGTH, SegmentIndex, SegmentWriter, encode_record

log = logging.getLogger(__name__)

CACHE_ENV = "LABELDISTILL_CACHE"
SEGMENTS_DIR = "segments"
LEGACY_SUFFIX = ".json"
# Field names that would hold a credential: a cache entry is read by people and copied around.
CREDENTIAL_FIELDS = frozenset({"api_key", "apikey", "api-key", "x-api-key", "authorization", "headers"})


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
    return key_of(request_identity(backend, model, messages, sampling, sample))


def request_identity(backend: str, model: str, messages: list[dict], sampling: dict, sample: int) -> str:
    """The canonical JSON that `request_key` hashes (teachers/openai/request_template.py splices texts
    into it)."""
    payload = {
        "backend": backend,
        "model": model,
        "messages": messages,
        "sampling": sampling,
        "sample": int(sample),
    }
    return canonical_json(payload)


def key_of(identity: str) -> str:
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CacheSize:
    entries: int
    bytes: int


def _refuse_credential(name: object, where: str) -> None:
    if str(name).lower() in CREDENTIAL_FIELDS:
        raise ValueError(f"a response cache entry must never hold a credential: {where}.{name}")


def _check_no_credentials(value: object, where: str) -> None:
    if isinstance(value, dict):
        for name, item in value.items():
            _refuse_credential(name, where)
            _check_no_credentials(item, f"{where}.{name}")
    elif isinstance(value, list):
        for item in value:
            _check_no_credentials(item, where)


def _close(writer: SegmentWriter, index: SegmentIndex) -> None:
    writer.close()
    index.close()


class ResponseCache:
    """Segment files under `root` (and entries of the one-file layout); counts hits, misses and
    unreadable entries. Safe to share between threads (the API client writes from worker
    threads when the disk is slow)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self.hits = 0
        self.misses = 0
        self._unreadable = 0
        self._writer = SegmentWriter(self.root / SEGMENTS_DIR)
        self._index = SegmentIndex(self.root / SEGMENTS_DIR)
        self._legacy = False  # whether the root holds one-file entries (found by a scan)
        self._root_mtime: int | None = None
        weakref.finalize(self, _close, self._writer, self._index)
        # One lock for the writer's offsets and the index: a few tenths of a microsecond a call.
        self._lock = threading.RLock()

    @property
    def corrupt(self) -> int:
        """Unreadable entries and records met so far (each one a miss, logged)."""
        return self._unreadable + self._index.corrupt

    def legacy_path(self, key: str) -> Path:
        """Where the one-file layout of earlier versions keeps `key` (still read, never written)."""
        return self.root / key[:2] / f"{key}{LEGACY_SUFFIX}"

    def refresh(self) -> None:
        """Index what other processes have stored since the last scan (a miss does it too)."""
        with self._lock:
            self._index.scan()
            self._check_legacy()

    def get(self, key: str) -> dict | None:
        """The stored response body, or None (a miss; also for a torn or corrupt entry)."""
        with self._lock:
            response = self._lookup(key)
            if response is None:
                self.misses += 1
            else:
                self.hits += 1
            return response

    def get_many(self, keys) -> dict[str, dict]:
        """The stored responses of those `keys` that have one (hits and misses counted): one scan,
        then the records read in file order."""
        keys = list(dict.fromkeys(keys))
        found = {}
        with self._lock:
            self.refresh()
            for key in self._index.ordered(keys):
                response = self._from_segments(key)
                if response is not None:
                    found[key] = response
            if self._legacy:
                for key in keys:
                    if key not in found:
                        response = self._from_legacy(key)
                        if response is not None:
                            found[key] = response
            self.hits += len(found)
            self.misses += len(keys) - len(found)
        return found

    def put(self, key: str, response: dict, request: dict | None = None) -> None:
        """Append `response` to this cache's segment. `request` is an optional summary kept for
        people reading the cache (model, settings, text): it must never hold a key or header."""
        if len(key) != KEY_LENGTH or not (key.isascii() and key.isalnum()):
            raise ValueError(f"a response cache key is a sha256 hex digest (see request_key), not {key!r}")
        _check_no_credentials(request, "request")
        for name in response:  # the top level only: an answer's logprobs are many small dicts
            _refuse_credential(name, "response")
        record = encode_record(canonical_json({"key": key, "request": request, "response": response}))
        with self._lock:
            name, offset = self._writer.append(record)
            self._index.note(name, key, offset, len(record))

    def __contains__(self, key: str) -> bool:
        with self._lock:
            if key in self._index:
                return True
            self.refresh()
            return key in self._index or (self._legacy and self.legacy_path(key).exists())

    def size(self) -> CacheSize:
        """Distinct entries and the bytes of their files (torn tails included) after a scan."""
        with self._lock:
            self.refresh()
            entries = len(self._index)
            total = self._index.bytes()
            for file in self._legacy_files():
                total += file.stat().st_size
                entries += file.name[: -len(LEGACY_SUFFIX)] not in self._index
            return CacheSize(entries, total)

    def clear(self) -> int:
        """Delete every entry; returns the number of entries removed. Meant for when no job is
        using the cache: a running writer would go on appending to a deleted file."""
        with self._lock:
            removed = self.size().entries
            self._writer.close()
            self._index.reset()
            shutil.rmtree(self.root / SEGMENTS_DIR, ignore_errors=True)
            for shard in self._legacy_shards():
                shutil.rmtree(shard, ignore_errors=True)
            self._legacy, self._root_mtime = False, None
        log.info("cleared %d cached responses under %s", removed, self.root)
        return removed

    def close(self) -> None:
        """Seal and close the segment files (also done when the cache is garbage-collected or the
        interpreter exits); a later put opens a new segment."""
        with self._lock:
            _close(self._writer, self._index)

    # -- reading -------------------------------------------------------------------------------

    def _lookup(self, key: str) -> dict | None:
        response = self._from_segments(key)
        if response is None and key not in self._index:
            self.refresh()  # a few stats: what other processes flushed before this call is seen
            response = self._from_segments(key)
        if response is None and self._legacy:
            response = self._from_legacy(key)
        return response

    def _from_segments(self, key: str) -> dict | None:
        record = self._index.read(key)
        if record is None:
            return None
        response = self._parse(record, key, f"record of {key} in {self.root / SEGMENTS_DIR}")
        if response is None:
            self._index.forget(key)
        return response

    def _from_legacy(self, key: str) -> dict | None:
        path = self.legacy_path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        return self._parse(data, key, str(path))

    def _parse(self, data: bytes, key: str, where: str) -> dict | None:
        try:
            entry = json.loads(data)
            response = entry["response"]
            if entry.get("key") != key or not isinstance(response, dict):
                raise ValueError("entry does not belong to its key")
        except (ValueError, KeyError, TypeError) as error:
            # A torn write (a node that crashed mid-write) must cost one request again, never the run.
            self._unreadable += 1
            log.warning("response cache entry %s is unreadable (%s): treated as a miss", where, error)
            return None
        return response

    def _legacy_shards(self) -> list[Path]:
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return []
        return [
            Path(entry.path)
            for entry in entries
            if len(entry.name) == 2 and entry.name.isalnum() and entry.is_dir()
        ]

    def _check_legacy(self) -> None:
        """Whether the root holds one-file entries, looked for again only when the root changed
        (once found, they stay until a clear)."""
        if self._legacy:
            return
        try:
            mtime = os.stat(self.root).st_mtime_ns
        except FileNotFoundError:
            return
        if mtime != self._root_mtime:
            self._root_mtime = mtime
            self._legacy = bool(self._legacy_shards())

    def _legacy_files(self) -> list[Path]:
        return [
            file
            for shard in self._legacy_shards()
            for file in shard.iterdir()
            if file.name.endswith(LEGACY_SUFFIX) and not file.name.startswith(".")
        ]
