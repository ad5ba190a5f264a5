"""Helpers to run the real snakemake CLI on a tiny config built from the bundled demo data."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW_FILES = ["Snakefile", "rules", "scripts", "schemas", "envs", "src"]
TASKS = {"tweets_negative": 11, "nyt_negative": 12}  # task -> sampling seed


def snakemake(
    workdir: Path,
    *args: str,
    snakefile: Path = REPO / "Snakefile",
    configfile: Path | None = None,
    timeout=1500,
):
    """Run the real snakemake CLI of this environment in `workdir` with `configfile` (default:
    workdir/config.yaml); return the completed process."""
    command = [
        str(Path(sys.executable).parent / "snakemake"),
        "--snakefile",
        str(snakefile),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile or workdir / "config.yaml"),
        *args,
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout, env=env)


def planned_jobs(dry_run_output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count} (empty when nothing is to be done)."""
    jobs = {}
    in_table = False
    for line in dry_run_output.splitlines():
        if line.startswith("Job stats:"):
            in_table = True
            continue
        match = re.match(r"^(\S+)\s+(\d+)$", line.strip())
        if in_table and match:
            if match.group(1) == "total":
                break
            jobs[match.group(1)] = int(match.group(2))
    return jobs


def planned_outputs(dry_run_output: str, kinds: tuple[str, ...] = ("output",)) -> list[str]:
    """The output files of every job a dry run plans; with `kinds` ("output", "log",
    "benchmark") those of its listed kinds."""
    return [
        path
        for line in dry_run_output.splitlines()
        if line.strip().startswith(tuple(f"{kind}:" for kind in kinds))
        for path in line.split(":", 1)[1].replace(",", " ").split()
    ]


def tiny_task(source: Path, out: Path, seed: int, n_negative=14, n_other=22) -> dict:
    """A few dozen real texts of a bundled task, with its codebook and coder labels."""
    out.mkdir(parents=True)
    texts = pd.read_csv(source / "texts.csv", dtype=str, keep_default_na=False)
    picked = pd.concat(
        [
            texts[texts["label"] == "negative"].sample(n_negative, random_state=seed),
            texts[texts["label"] == "other"].sample(n_other, random_state=seed),
        ]
    )
    picked.to_csv(out / "texts.csv", index=False)
    coders = pd.read_csv(source / "coder_labels.csv.gz", dtype=str)
    coders[coders["id"].isin(picked["id"])].to_csv(out / "coder_labels.csv", index=False)
    shutil.copy(source / "codebook.md", out / "codebook.md")
    return {
        "texts": str(out / "texts.csv"),
        "codebook": str(out / "codebook.md"),
        "coder_labels": str(out / "coder_labels.csv"),
        "labels": ["negative", "other"],
        "positive_label": "negative",
    }


def tiny_config(workdir: Path, models_dir: Path) -> dict:
    return {
        "tasks": {
            name: tiny_task(REPO / "data" / name, workdir / "data" / name, seed)
            for name, seed in TASKS.items()
        },
        "split": {"seed": 3, "test": 12, "val": 8, "pool": 16},
        "labelers": {
            "gemma": {"backend": "local", "model": "gemma3-270m", "shots": 4, "calibration_texts": 8}
        },
        "students": {
            "tfidf-logreg": {"kind": "tfidf-logreg"},
            "minilm": {
                "kind": "transformer",
                "model": "minilm-l6",
                "epochs": 1,
                "max_length": 32,
                "batch_size": 8,
            },
        },
        "seeds": [1],
        "train_size": 14,
        "evaluation": {"n_boot": 200},
        "models_dir": str(models_dir),
    }


def write_config(workdir: Path, config: dict) -> None:
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


ROWS = 60  # 20 "neg", 40 "pos": enough for test 10 + val 10 + pool 20


def one_task_config(root: Path) -> dict:
    """A valid config of one task of ROWS texts (written into `root` with its codebook): the
    start of every bad-input case and of the runs that need only a split."""
    texts = pd.DataFrame(
        {
            "id": [f"t{i:03d}" for i in range(ROWS)],
            "text": [f"text number {i} says {'bad' if i % 3 == 0 else 'good'} things" for i in range(ROWS)],
            "label": ["neg" if i % 3 == 0 else "pos" for i in range(ROWS)],
        }
    )
    texts.to_csv(root / "texts.csv", index=False)
    (root / "codebook.md").write_text("Is the text negative? neg: it is; pos: it is not.\n")
    return {
        "tasks": {
            "t": {
                "texts": str(root / "texts.csv"),
                "codebook": str(root / "codebook.md"),
                "labels": ["neg", "pos"],
                "positive_label": "neg",
            }
        },
        "split": {"seed": 1, "test": 10, "val": 10, "pool": 20},
        "labelers": {"llm": {"backend": "local", "model": "gemma3-270m", "shots": 4}},
        "students": {"tfidf": {"kind": "tfidf-logreg"}, "bert": {"kind": "transformer", "epochs": 1}},
        "seeds": [1],
        "train_size": 15,
    }
