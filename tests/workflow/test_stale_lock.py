"""After a SIGKILL the next `snakemake` says in one line to unlock and rerun the incomplete
jobs, ahead of Snakemake's own message; `snakemake --unlock` itself is not told so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from runner import REPO, one_task_config, planned_outputs, snakemake

pytestmark = pytest.mark.workflow

HINT = "was killed and left its lock: run `snakemake --unlock` once, then `snakemake --rerun-incomplete ...`"
SPLIT = "results/t/splits/test.parquet"


def write_config(root: Path) -> None:
    config = one_task_config(root)
    config["students"] = {"tfidf": config["students"]["tfidf"]}  # the runs here go as far as a split
    (root / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def kill_mid_run(root: Path) -> None:
    """Start a real run and SIGKILL it (and its jobs) once it has taken its lock."""
    command = [
        str(Path(sys.executable).parent / "snakemake"),
        *("--snakefile", str(REPO / "Snakefile"), "--directory", str(root)),
        *("--configfile", str(root / "config.yaml"), "--cores", "1", SPLIT),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    run = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
    )
    record = root / ".snakemake" / "labeldistill" / "run.pid"
    try:
        deadline = time.monotonic() + 120
        while not record.exists() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert record.exists(), "the run never recorded itself (onstart)"
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # its own session: the run and the jobs it started
        run.wait()


def test_a_killed_run_is_named_in_one_line_until_unlocked(tmp_path):
    write_config(tmp_path)
    assert SPLIT in planned_outputs(snakemake(tmp_path, "-n").stdout)
    kill_mid_run(tmp_path)
    assert any((tmp_path / ".snakemake" / "locks").glob("*.lock")), "the kill left no lock"

    dry = snakemake(tmp_path, "-n")
    hints = [line for line in dry.stderr.splitlines() if HINT in line]
    assert len(hints) == 1 and hints[0].startswith("labeldistill: the run of "), dry.stderr[-3000:]

    real = snakemake(tmp_path, "--cores", "1", SPLIT)
    assert real.returncode != 0 and "Directory cannot be locked" in real.stderr, real.stderr[-3000:]
    assert real.stderr.index(HINT) < real.stderr.index("Directory cannot be locked")

    unlock = snakemake(tmp_path, "--unlock")
    assert unlock.returncode == 0, unlock.stderr[-3000:]
    assert HINT not in unlock.stderr
    assert not any((tmp_path / ".snakemake" / "locks").glob("*.lock"))

    after = snakemake(tmp_path, "-n")
    assert after.returncode == 0 and HINT not in after.stderr


def test_a_finished_run_leaves_no_record(tmp_path):
    write_config(tmp_path)
    done = snakemake(tmp_path, "--cores", "1", SPLIT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (tmp_path / ".snakemake" / "labeldistill" / "run.pid").exists()
