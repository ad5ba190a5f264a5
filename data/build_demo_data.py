"""Rebuild the bundled demo tasks from the human ratings shipped with vaderSentiment 3.3.2.

    python data/build_demo_data.py                      # pip-downloads the sdist itself
    python data/build_demo_data.py --sdist PATH         # an sdist (or its hutto_ICWSM_2014.tar.gz)

Writes data/<task>/texts.csv and data/<task>/coder_labels.csv.gz for every task, and
data/LICENSE-vaderSentiment.txt; the codebooks and README are written by hand and left alone.
Runs are deterministic: the same archive gives byte-identical files. The logic lives in
data/hutto.py.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import hutto

from labeldistill.errors import LabelDistillError


def download_sdist(folder: Path) -> Path:
    """``pip download`` the source distribution (no wheel, no dependencies) into ``folder``."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--disable-pip-version-check",
            "--dest",
            str(folder),
            hutto.SDIST_REQUIREMENT,
        ],
        check=True,
    )
    return folder / hutto.SDIST_NAME


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sdist",
        type=Path,
        help="vaderSentiment-3.3.2.tar.gz (or the inner "
        "hutto_ICWSM_2014.tar.gz); downloaded with pip when left out",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="folder for the task folders (default: this script's folder)",
    )
    parser.add_argument(
        "--task",
        action="append",
        metavar="NAME=CORPUS",
        help="build only these tasks (default: "
        + ", ".join(f"{k}={v}" for k, v in hutto.ALL_TASKS.items())
        + ")",
    )
    parser.add_argument(
        "--no-verify", action="store_true", help="skip the sha256 check (for test fixtures only)"
    )
    args = parser.parse_args(argv)
    tasks = None
    if args.task:
        if not all("=" in item for item in args.task):
            parser.error("--task takes NAME=CORPUS, e.g. tweets_negative=tweets")
        tasks = dict(item.split("=", 1) for item in args.task)

    try:
        with tempfile.TemporaryDirectory() as tmp:
            archive = args.sdist or download_sdist(Path(tmp))
            if not args.no_verify:
                print(f"sha256 {hutto.verify_archive(archive)} OK", file=sys.stderr)
            stats = hutto.build_all(archive, args.out, tasks)
    except LabelDistillError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(hutto.stats_table(stats))
    print(json.dumps(stats, indent=1), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
