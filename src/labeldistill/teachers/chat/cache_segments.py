"""Append-only segment files: the storage of the response cache (see response_cache).

A segment is `<dir>/<host>-<pid>-<time>-<random>.jsonl` with exactly one writer, the process
(and cache object) that created it: appends then need no lock, also on NFS, where appends from
two nodes to one file can interleave. Each record is one line, the canonical JSON of
`{"key", "request", "response"}`; sorted keys put the 64-hex key at a fixed place at the start
of the line, so a reader indexes a segment by finding newlines, without parsing JSON.

Readers remember how far they have scanned each segment and read only new segments and new
bytes, so that a scan on every miss is cheap: a stat of the directory (listed again only when
its modification time changed or is under RACY_NS old) and one of each segment that may still
grow. A writer that closes appends a seal line; a sealed segment is never looked at again. A
last line without its newline (a writer killed mid-write, or one still writing) is left
unscanned until it is whole; a crashed writer never finishes it, so it stays skipped.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SEGMENT_SUFFIX = ".jsonl"
RECORD_PREFIX = b'{"key":"'
SEAL = b'{"sealed":true}\n'  # a writer's last line: the segment will not grow
KEY_LENGTH = 64  # sha256 hex
_KEY_END = len(RECORD_PREFIX) + KEY_LENGTH
SCAN_CHUNK = 8 << 20  # bytes per read while scanning: a segment of gigabytes is not read at once
OPEN_READERS = 64  # segment files kept open for reading (far below the usual limit of 1,024)
_HOST = socket.gethostname().replace("/", "_")
# A file created within the same timestamp tick (a few ms) as the directory's last change leaves
# its modification time as it was: until that change is this old, the directory is listed on
# every scan. Seconds, not ticks, to cover the clock skew between nodes on NFS.
RACY_NS = 2_000_000_000

# A record's place as one int (segment number, offset, length): a tuple would cost about 100
# more bytes per entry, 0.1 GB per million cached answers.
_LENGTH_BITS = 32
_OFFSET_BITS = 40


def _pack(number: int, offset: int, length: int) -> int:
    return (((number << _OFFSET_BITS) | offset) << _LENGTH_BITS) | length


def _unpack(place: int) -> tuple[int, int, int]:
    length = place & ((1 << _LENGTH_BITS) - 1)
    offset = (place >> _LENGTH_BITS) & ((1 << _OFFSET_BITS) - 1)
    return place >> (_LENGTH_BITS + _OFFSET_BITS), offset, length


def encode_record(entry_json: str) -> bytes:
    """One record: the canonical JSON (which escapes every newline inside strings) and a newline."""
    return entry_json.encode("utf-8") + b"\n"


class SegmentWriter:
    """Appends records to a segment of its own, created at the first append."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.name: str | None = None
        self.size = 0
        self._fd: int | None = None
        self._pid = os.getpid()

    def append(self, record: bytes) -> tuple[str, int]:
        """Write `record` with one write call (no buffer in this process: a killed process loses
        nothing it was given); returns (segment name, offset)."""
        if self._pid != os.getpid():
            # A forked child holds its parent's descriptor: two writers on one segment would
            # interleave. The child closes its copy and starts a segment of its own.
            if self._fd is not None:
                os.close(self._fd)
            self._fd, self.name, self._pid = None, None, os.getpid()
        if self._fd is None:
            self._open()
        offset = self.size
        try:
            written = os.write(self._fd, record)
            while written < len(record):  # short writes are rare (a full disk); finish or fail
                written += os.write(self._fd, record[written:])
        except BaseException:
            # Whatever part got out is a torn last line that readers skip; never append after it
            # (nor a seal: it would join the torn line).
            self.close(seal=False)
            raise
        self.size += len(record)
        return self.name, offset

    def _open(self) -> None:
        os.makedirs(self.directory, exist_ok=True)
        # Host, pid, nanoseconds and a random part: no other writer, on any node, picks this name;
        # O_EXCL would say so if one did.
        name = f"{_HOST}-{os.getpid()}-{time.time_ns():x}-{secrets.token_hex(4)}{SEGMENT_SUFFIX}"
        self._fd = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        self.name, self.size = name, 0

    def close(self, seal: bool = True) -> None:
        """Seal and close the segment (the next append opens a new one)."""
        if self._fd is not None and self._pid == os.getpid():
            try:
                if seal:
                    os.write(self._fd, SEAL)
            finally:
                os.close(self._fd)
        self._fd, self.name = None, None


@dataclass
class _Segment:
    name: str
    number: int
    scanned: int = 0  # bytes up to the end of the last whole record
    seen: int = 0  # the file's size at the last scan
    sealed: bool = False
    torn_logged: bool = False


class SegmentIndex:
    """Where each key's latest record is, over every segment of `directory`."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.corrupt = 0
        self._dir = str(directory)  # os.path.join of strings: a scan per miss stats many paths
        self._segments: dict[str, _Segment] = {}
        self._growing: dict[str, _Segment] = {}  # not sealed (yet)
        self._names: list[str] = []  # by segment number
        self._places: dict[str, int] = {}
        self._readers: dict[str, int] = {}  # open descriptors, oldest first
        self._listed_mtime: int | None = None
        self._racy = False

    def __contains__(self, key: str) -> bool:
        return key in self._places

    def __len__(self) -> int:
        return len(self._places)

    def keys(self):
        return self._places.keys()

    def bytes(self) -> int:
        """Bytes on disk of every known segment (torn tails included)."""
        return sum(segment.seen for segment in self._segments.values())

    def scan(self) -> None:
        """Index new segments and the new whole records of known ones."""
        try:
            mtime = os.stat(self._dir).st_mtime_ns  # before listing: a later change lists again
        except FileNotFoundError:
            return
        if mtime != self._listed_mtime or self._racy:
            self._listed_mtime = mtime
            self._racy = time.time_ns() - mtime < RACY_NS
            for name in os.listdir(self._dir):
                if name.endswith(SEGMENT_SUFFIX):
                    self._segment(name)
        for segment in list(self._growing.values()):
            self._scan(segment)

    def note(self, name: str, key: str, offset: int, length: int) -> None:
        """A record this process has just appended: indexed without reading it back."""
        segment = self._segment(name)
        if segment.scanned == offset:  # else a scan will find it (and whatever precedes it)
            segment.scanned = segment.seen = offset + length
        self._places[key] = _pack(segment.number, offset, length)

    def read(self, key: str) -> bytes | None:
        """The record of `key`, or None when none is indexed (a scan may find one)."""
        place = self._places.get(key)
        if place is None:
            return None
        number, offset, length = _unpack(place)
        name = self._names[number]
        try:
            record = os.pread(self._reader(name), length, offset)
        except FileNotFoundError:  # cleared meanwhile
            record = b""
        if len(record) != length:
            del self._places[key]
            return None
        return record

    def forget(self, key: str) -> None:
        """Drop an unreadable record from the index (a later put or scan may add a good one)."""
        self._places.pop(key, None)

    def ordered(self, keys) -> list[str]:
        """`keys` that are indexed, in file order: reads then go forward through each segment."""
        places = self._places
        return sorted((key for key in keys if key in places), key=places.__getitem__)

    def close(self) -> None:
        for fd in self._readers.values():
            os.close(fd)
        self._readers.clear()

    def reset(self) -> None:
        """Forget everything (after the files were deleted)."""
        self.close()
        self._segments.clear()
        self._growing.clear()
        self._names.clear()
        self._places.clear()
        self._listed_mtime = None

    def _segment(self, name: str) -> _Segment:
        segment = self._segments.get(name)
        if segment is None:
            segment = self._segments[name] = self._growing[name] = _Segment(name, len(self._names))
            self._names.append(name)
        return segment

    def _reader(self, name: str) -> int:
        fd = self._readers.get(name)
        if fd is None:
            if len(self._readers) >= OPEN_READERS:
                os.close(self._readers.pop(next(iter(self._readers))))
            fd = self._readers[name] = os.open(os.path.join(self._dir, name), os.O_RDONLY)
        return fd

    def _scan(self, segment: _Segment) -> None:
        try:
            size = os.stat(os.path.join(self._dir, segment.name)).st_size
            if size <= segment.seen:
                return
            fd = self._reader(segment.name)
        except FileNotFoundError:  # deleted (a clear) since the listing
            return
        segment.seen = size
        offset = segment.scanned
        chunk = SCAN_CHUNK
        while offset < size:
            data = os.pread(fd, chunk, offset)
            if not data:
                break
            end = data.rfind(b"\n") + 1
            if end == 0:
                if len(data) < chunk:
                    break  # the last line has no newline yet
                chunk *= 2  # one record longer than a chunk
                continue
            self._index(segment, data, end, offset)
            offset += end
        segment.scanned = offset
        if segment.sealed:
            del self._growing[segment.name]
        elif offset < segment.seen and not segment.torn_logged:
            segment.torn_logged = True
            log.warning(
                "response cache segment %s ends in an incomplete record (%d bytes: a writer killed "
                "mid-write, or one still writing): skipped",
                self.directory / segment.name,
                segment.seen - offset,
            )

    def _index(self, segment: _Segment, data: bytes, end: int, base: int) -> None:
        places = self._places
        number = segment.number
        position = 0
        while position < end:
            newline = data.index(b"\n", position)
            key = data[position + len(RECORD_PREFIX) : position + _KEY_END]
            if (
                newline - position > _KEY_END
                and data.startswith(RECORD_PREFIX, position)
                and data[position + _KEY_END] == 0x22  # the key's closing quote
                and key.isalnum()
            ):
                length = newline + 1 - position
                places[key.decode("ascii")] = _pack(number, base + position, length)
            elif newline + 1 - position == len(SEAL) and data.startswith(SEAL, position):
                segment.sealed = True
            else:
                # Only a damaged file can hold one (say, a node that crashed with pages unwritten).
                self.corrupt += 1
                log.warning(
                    "response cache segment %s: unreadable record at byte %d skipped",
                    self.directory / segment.name,
                    base + position,
                )
            position = newline + 1
