"""A run killed by SIGKILL leaves Snakemake's lock: the next parse says so in one line.

Snakemake keeps its locks in .snakemake/locks/ and removes them when a run ends, unless the run
is killed outright; the next run then stops with a long message. The workflow records the run
that holds the locks (`record_run` at `onstart:`, `forget_run` at `onsuccess:`/`onerror:`), so
that a parse finding locks and that run's process gone names the run and the two commands
that go on from there (`stale_lock_line`), before Snakemake's own message.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from labeldistill.logs import PREFIX

SNAKEMAKE = Path(".snakemake")  # Snakemake's own folder in the working directory
RECORD = Path("labeldistill") / "run.pid"


def record_run(folder: Path = SNAKEMAKE) -> None:
    """Record this process (the run's Snakemake) as the holder of the folder's locks."""
    path = folder / RECORD
    record = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
        partial.write_text(json.dumps(record), encoding="utf-8")
        os.replace(partial, path)
    except OSError:
        pass  # only the hint of a later parse is lost, not worth stopping the run for


def forget_run(folder: Path = SNAKEMAKE) -> None:
    """Remove the record, if it is this process's (a run beside it may have recorded its own)."""
    path = folder / RECORD
    if (_read(path) or {}).get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def stale_lock_line(folder: Path = SNAKEMAKE, argv: Sequence[str] | None = None) -> str | None:
    """The line to print when `folder` holds Snakemake's locks and the recorded run's process
    is gone; None otherwise, and when the command (`argv`, default sys.argv) is the unlock."""
    argv = sys.argv if argv is None else argv
    if any(arg.startswith("--unl") and "--unlock".startswith(arg) for arg in argv):  # argparse abbreviates
        return None
    locks = folder / "locks"
    if not (locks.is_dir() and any(locks.glob("*.lock"))):
        return None
    record = _read(folder / RECORD)
    if not record or record.get("host") != socket.gethostname():
        return None  # no record, or another machine's process: nothing to tell
    pid = record.get("pid")
    if not isinstance(pid, int) or pid <= 0 or _alive(pid):
        return None
    return (
        f"{PREFIX}the run of {record.get('started', 'an earlier time')} (pid {pid}) was killed and "
        "left its lock: run `snakemake --unlock` once, then `snakemake --rerun-incomplete ...`"
    )


def _read(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
