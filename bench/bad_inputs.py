"""The catalogue of bad inputs (tests/workflow/test_bad_inputs.py) as a table: per case the one
line the user sees and the seconds until the run stops (a real `snakemake -n` each; the config
file cases through `labeldistill check`).

    .venv/bin/python bench/bad_inputs.py > bad_inputs.md
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests" / "workflow"
sys.path.insert(0, str(TESTS))

from runner import snakemake  # noqa: E402
from test_bad_inputs import CASES, FILE_CASES, check_command, write_case  # noqa: E402


def row(name: str, seconds: float, stderr: str, folder: str) -> str:
    lines = stderr.strip().splitlines()
    message = lines[-1].replace(folder, "<dir>") if lines else "(nothing on stderr)"
    count = f" ({len(lines)} lines)" if len(lines) != 1 else ""
    return f"| {name} | {seconds:.1f} | `{message}`{count} |"


def main() -> None:
    print("| case | seconds | what the user sees |")
    print("|---|---|---|")
    for case in CASES:
        with tempfile.TemporaryDirectory() as folder:
            workdir = write_case(Path(folder), case.change)
            started = time.perf_counter()
            result = snakemake(workdir, "-n")
            print(row(case.name, time.perf_counter() - started, result.stderr, folder), flush=True)
    for name, content, _ in FILE_CASES:
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "config.yaml").write_text(content)
            started = time.perf_counter()
            result = check_command(Path(folder), "--configfile", "config.yaml")
            print(row(name, time.perf_counter() - started, result.stderr, folder), flush=True)


if __name__ == "__main__":
    main()
