"""How the workflow's planning scales to the paper's grid (14 tasks x 4 labelers x 3 students x 5 seeds).

    .venv/bin/python bench/scale_dry_run.py [--root DIR] [--repeat 3] [--profile-to FILE]

Prints the number of jobs, the time of `snakemake --dry-run` on the grid (with and without
printing every job), and the time of a real `snakemake --cores 2` once every output exists
(it must find nothing to do). Outputs are made by writing empty files and then letting
`snakemake --touch --forceall` date them in DAG order and record their metadata (params,
code, input) as a finished run would, so the no-op run checks all of it.
Nothing is labelled or trained. With --profile-to, the dry run is also run under cProfile and
the slowest functions of the workflow's own code (Snakefile, rules/, src/) are listed.
"""

from __future__ import annotations

import argparse
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_config import write_grid  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
# `--touch` sleeps 0.1 s per job (snakemake/executors/touch.py); not what is measured here.
TOUCH_FAST = (
    "import snakemake.executors.touch as t, sys; t.Executor.SLEEPING_TIME = 0; "
    "from snakemake.cli import main; sys.argv[0] = 'snakemake'; main()"
)


def snakemake(root: Path, *args: str, prefix=SNAKEMAKE) -> tuple[float, subprocess.CompletedProcess]:
    command = [
        *prefix,
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(root),
        "--configfile",
        str(root / "config.yaml"),
        *args,
    ]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stderr[-3000:]}")
    return elapsed, result


def timed(root: Path, repeat: int, *args: str) -> tuple[list[float], subprocess.CompletedProcess]:
    runs = [snakemake(root, *args) for _ in range(repeat)]
    return [elapsed for elapsed, _ in runs], runs[-1][1]


def job_count(dry_run_stdout: str) -> int:
    match = re.search(r"^total\s+(\d+)$", dry_run_stdout, re.MULTILINE)
    return int(match.group(1)) if match else 0


def is_directory_output(name: str) -> bool:
    """Every file the workflow writes has a suffix (.json, .parquet, ...); its directory()
    outputs, the students' folders (.../seed1), have none. `--touch` stops with an
    ImproperOutputException on a file where a folder was declared, or the other way round."""
    return not Path(name).suffix


def create_outputs(root: Path, dry_run_stdout: str) -> int:
    """Write an empty file (or folder) for every output, log and benchmark a dry run lists."""
    made = 0
    for line in dry_run_stdout.splitlines():
        if match := re.match(r"^\s+(output|log|benchmark): (.*)$", line):
            for name in match.group(2).split(", "):
                path = root / name
                if match.group(1) == "output" and is_directory_output(name):
                    path.mkdir(parents=True, exist_ok=True)
                else:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.touch()
                made += 1
    return made


def show(label: str, seconds: list[float]) -> None:
    median = statistics.median(seconds)
    print(f"{label:<44} min {min(seconds):6.2f} s   median {median:6.2f} s   ({len(seconds)} runs)")


def profile_dry_run(root: Path, out: Path) -> None:
    snakemake(
        root,
        "--dry-run",
        "--quiet",
        prefix=[sys.executable, "-m", "cProfile", "-o", str(out), "-m", "snakemake"],
    )
    stats = pstats.Stats(str(out))
    total = max(entry[3] for entry in stats.stats.values())
    ours = {
        key: entry
        for key, entry in stats.stats.items()
        if re.search(r"/(Snakefile|rules/|src/labeldistill/)", key[0])
    }
    print(f"\ncProfile of the dry run ({total:.1f} s under the profiler): workflow code, by cumulative time")
    for (path, line, name), entry in sorted(ours.items(), key=lambda item: -item[1][3])[:12]:
        print(f"  {entry[3]:6.2f} s  {entry[1]:6d} calls  {Path(path).name}:{line}({name})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, help="work folder (default: a new temporary one)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile-to", type=Path, help="also profile the dry run into this file")
    args = parser.parse_args()
    root = (args.root or Path(tempfile.mkdtemp(prefix="labeldistill-scale-"))).resolve()
    root.mkdir(parents=True, exist_ok=True)
    write_grid(root)
    print(f"grid in {root}")

    seconds, result = timed(root, args.repeat, "--dry-run")
    jobs = job_count(result.stdout)
    print(f"jobs planned: {jobs}")
    show("snakemake --dry-run", seconds)
    show("snakemake --dry-run --quiet", timed(root, args.repeat, "--dry-run", "--quiet")[0])
    if args.profile_to:
        profile_dry_run(root, args.profile_to)

    made = create_outputs(root, result.stdout)
    touch_seconds, _ = snakemake(
        root, "--touch", "--forceall", "--cores", "1", "--quiet", prefix=[sys.executable, "-c", TOUCH_FAST]
    )
    print(
        f"\nsetup: {made} outputs, logs and benchmarks written; snakemake --touch took {touch_seconds:.1f} s"
    )

    _, check = snakemake(root, "--dry-run")
    if job_count(check.stdout):
        sys.exit(
            f"after --touch the workflow still plans {job_count(check.stdout)} jobs:\n{check.stdout[-2000:]}"
        )
    seconds, result = timed(root, args.repeat, "--cores", "2")
    if "Nothing to be done" not in result.stdout + result.stderr:
        sys.exit(f"the no-op run did something:\n{result.stderr[-2000:]}")
    show("no-op rerun: snakemake --cores 2", seconds)
    show("no-op rerun: snakemake --dry-run", timed(root, args.repeat, "--dry-run")[0])


if __name__ == "__main__":
    main()
