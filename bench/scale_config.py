"""A paper-size grid on synthetic tasks: 14 tasks x 4 labelers x 3 students x 5 seeds.

    python bench/scale_config.py OUTDIR      # writes OUTDIR/data/... and OUTDIR/config.yaml

The tasks are small random texts (never labelled by anything: the benchmark only plans and
checks jobs); the labelers are `local` entries that differ in model and shots, as in a study
that compares teachers. Used by bench/scale_dry_run.py.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import yaml

WORDS = "the a policy vote market court union police protest tax health school crisis deal war peace".split()


def synthetic_task(out: Path, seed: int, n_texts: int) -> dict:
    """A binary task: `n_texts` random sentences with a label column, and a codebook."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    rows = ["id,text,label"]
    for i in range(n_texts):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 25)))
        rows.append(f"t{i},{text},{'yes' if rng.random() < 0.3 else 'no'}")
    (out / "texts.csv").write_text("\n".join(rows) + "\n")
    (out / "codebook.md").write_text(
        f"# Task {out.name}\n\nLabel `yes` if the text is about it, else `no`.\n"
    )
    return {
        "texts": str(out / "texts.csv"),
        "codebook": str(out / "codebook.md"),
        "labels": ["yes", "no"],
        "positive_label": "yes",
    }


def grid_config(root: Path, n_tasks=14, n_seeds=5, n_texts=600) -> dict:
    root = Path(root).resolve()
    return {
        "tasks": {
            f"task{i:02d}": synthetic_task(root / "data" / f"task{i:02d}", i, n_texts) for i in range(n_tasks)
        },
        "split": {"seed": 1, "test": 200, "val": 100, "pool": 300},
        "labelers": {
            "gemma-4shot": {"backend": "local", "model": "gemma3-270m", "shots": 4},
            "gemma-16shot": {"backend": "local", "model": "gemma3-270m", "shots": 16},
            "gemma-32shot": {"backend": "local", "model": "gemma3-270m", "shots": 32},
            "smollm-16shot": {"backend": "local", "model": "smollm2-135m", "shots": 16},
        },
        "students": {
            "tfidf-logreg": {"kind": "tfidf-logreg"},
            "minilm": {"kind": "transformer", "model": "minilm-l6", "learning_rate": 3.0e-4},
            "roberta": {"kind": "transformer", "model": "roberta-base", "device": "gpu"},
        },
        "seeds": list(range(1, n_seeds + 1)),
        "train_size": 250,
        "models_dir": str(root / "models"),
    }


def write_grid(root: Path, **sizes) -> Path:
    """Write the synthetic tasks and the config under `root`; return the config's path."""
    config = grid_config(root, **sizes)
    path = Path(root) / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


if __name__ == "__main__":
    print(write_grid(Path(sys.argv[1])))
