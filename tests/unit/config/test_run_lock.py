"""A run killed outright is named in one line at the next parse, unless the command unlocks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from labeldistill.config.run_lock import RECORD, forget_run, record_run, stale_lock_line

HINT = "run `snakemake --unlock` once, then `snakemake --rerun-incomplete ...`"


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture()
def killed_run(tmp_path):
    """A .snakemake folder as a SIGKILL leaves it: lock files, and the record of a gone run."""
    folder = tmp_path / ".snakemake"
    (folder / "locks").mkdir(parents=True)
    (folder / "locks" / "0.input.lock").write_text("results/t/splits/test.parquet\n")
    (folder / "locks" / "0.output.lock").write_text("results/t/metrics/fewshot@llm.json\n")
    record = {"pid": dead_pid(), "host": socket.gethostname(), "started": "2026-12-07 09:30"}
    (folder / RECORD).parent.mkdir()
    (folder / RECORD).write_text(json.dumps(record))
    return folder, record["pid"]


def test_locks_of_a_dead_run_give_one_line(killed_run):
    folder, pid = killed_run
    line = stale_lock_line(folder, argv=["snakemake", "--cores", "2"])
    killed = f"the run of 2026-12-07 09:30 (pid {pid}) was killed and left its lock"
    assert line == f"labeldistill: {killed}: {HINT}"


@pytest.mark.parametrize("flag", ["--unlock", "--unl"])
def test_the_unlock_itself_is_not_told_to_unlock(killed_run, flag):
    folder, _ = killed_run
    assert stale_lock_line(folder, argv=["snakemake", flag]) is None


def test_no_line_without_locks_or_with_the_run_alive(killed_run):
    folder, _ = killed_run
    record = json.loads((folder / RECORD).read_text())
    (folder / RECORD).write_text(json.dumps({**record, "pid": os.getpid()}))  # a run going on
    assert stale_lock_line(folder, argv=["snakemake"]) is None
    (folder / RECORD).write_text(json.dumps({**record, "host": "another-machine"}))
    assert stale_lock_line(folder, argv=["snakemake"]) is None  # its pid says nothing here
    (folder / RECORD).write_text(json.dumps(record))
    for lock in (folder / "locks").iterdir():
        lock.unlink()
    assert stale_lock_line(folder, argv=["snakemake"]) is None  # unlocked: nothing to say
    (folder / RECORD).unlink()
    assert stale_lock_line(folder, argv=["snakemake"]) is None


def test_a_run_records_itself_and_forgets_only_its_own_record(tmp_path):
    folder = tmp_path / ".snakemake"
    record_run(folder)
    record = json.loads((folder / RECORD).read_text())
    assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
    forget_run(folder)
    assert not (folder / RECORD).exists()
    (folder / RECORD).write_text(json.dumps({**record, "pid": dead_pid()}))  # another run's
    forget_run(folder)
    assert (folder / RECORD).exists()
