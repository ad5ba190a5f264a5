"""The ledger of Batch API batches: which batch carries which requests, kept beside the response
cache, so that a job killed while it waited resumes waiting instead of paying again.

One JSON file per batch, `<cache root>/batches/<input file id>.json`, while the batch is open
(uploaded, created, running, or done with its answers not yet in the cache); once its answers
are in the cache it moves to `<cache root>/batches/done/`, where nothing reads it again (kept
for people: which batch answered what). Why a file per batch rather than one ledger file: the
jobs of a labeler (one per part) share the cache, on a cluster across nodes, and a file that
one job writes at a time needs no lock. Every write is a new file renamed over the old one, so
a reader (or a job killed mid-write) sees the old entry or the new one, never half of one.

An entry holds: input_file_id; batch_id (null until the batch is created); base_url (the
endpoint, without any user:password part: a batch id means something only there); labeler,
model; created (unix seconds of the upload); status ("uploaded", then the provider's:
validating, in_progress, finalizing, completed, failed, expired, cancelling, cancelled);
updated; and keys, the response-cache keys of its requests (each line's custom_id). Never an
API key or a header.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

LEDGER_DIR = "batches"
DONE_DIR = "done"
UPLOADED = "uploaded"


@dataclass
class BatchEntry:
    input_file_id: str
    keys: list[str]
    base_url: str
    labeler: str
    model: str
    created: float = field(default_factory=time.time)
    batch_id: str | None = None
    status: str = UPLOADED
    updated: float = field(default_factory=time.time)

    @property
    def name(self) -> str:
        """The entry's file name: its input file id, with any character unsafe in a name replaced."""
        return re.sub(r"[^A-Za-z0-9_.-]", "_", self.input_file_id) + ".json"

    @property
    def label(self) -> str:
        """How messages name the batch: its id, or its input file while it has none."""
        return self.batch_id or f"(not yet created) for {self.input_file_id}"


class BatchLedger:
    """The entries under `<cache_root>/batches`."""

    def __init__(self, cache_root: str | Path):
        self.root = Path(cache_root) / LEDGER_DIR

    def write(self, entry: BatchEntry) -> None:
        """Store `entry` as open (atomically: a new file renamed over the old)."""
        entry.updated = time.time()
        self._write(self.root / entry.name, entry)

    def close(self, entry: BatchEntry) -> None:
        """The batch's answers are in the cache: move its entry out of the open ones."""
        entry.updated = time.time()
        self._write(self.root / DONE_DIR / entry.name, entry)
        (self.root / entry.name).unlink(missing_ok=True)

    def open_entries(self, base_url: str) -> list[BatchEntry]:
        """The open entries of batches at `base_url`, oldest first. An unreadable file (none is
        written half, but people edit) is skipped with a warning: its requests are then sent
        again, which costs money but never gives a wrong label."""
        entries = []
        try:
            paths = sorted(self.root.glob("*.json"))
        except FileNotFoundError:
            return []
        for path in paths:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                entry = BatchEntry(**data)
            except FileNotFoundError:
                continue  # closed by another job meanwhile
            except (ValueError, TypeError) as error:
                log.warning("batch ledger entry %s is unreadable (%s): ignored", path, error)
                continue
            if entry.base_url == base_url:
                entries.append(entry)
        return sorted(entries, key=lambda entry: entry.created)

    @staticmethod
    def _write(path: Path, entry: BatchEntry) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            temporary.write_text(json.dumps(asdict(entry), indent=1), encoding="utf-8")
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
