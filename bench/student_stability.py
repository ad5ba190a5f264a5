"""How much a student's test F1 moves over seeds at a small training size, per recipe.

    python bench/student_stability.py results --student minilm --seeds 1 2 3 4 5
    python bench/student_stability.py results --student minilm \\
        --recipe 'minilm-10ep={"from": "minilm", "epochs": 10, "patience": 3}' --jobs 2

Reads a finished run's folders `RESULTS/<task>/splits/{pool,val,test}.parquet` and
`RESULTS/<task>/labels/<source>/{pool,val}.parquet` (source: `human` and the `--labelers`).
For every task (every folder of RESULTS that has splits/), label source, recipe and seed it
trains one student through the train stage's own code path (`labeldistill.stages.train.run`:
the same draw of `--train-size` pool ids, the source's validation labels for early stopping,
the same save and test prediction) into a temporary folder, and scores the F1 of the task's
positive label on the test part's human labels. It prints one row per task x labels x recipe:
mean, sd (n - 1), min and max F1 over the seeds and the mean seconds per fit (training, saving
and predicting the test part, as the train job spends them; loading Python and torch not
counted). `--rows` also writes one row per fit as CSV.

A recipe is a student block: `--student NAME` takes `students.NAME` of `--config`;
`--recipe NAME=JSON` a block of its own, where `"from": "NAME"` starts from that config block.
`--jobs N` runs N fits at once, one thread each (the default run's students use one thread).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent


def recipes(args: argparse.Namespace) -> dict[str, dict]:
    config = yaml.safe_load(Path(args.config).read_text())
    blocks = config.get("students", {})
    out = {}
    for name in args.student or []:
        out[name] = {k: v for k, v in blocks[name].items() if k not in ("threads", "device")}
    for item in args.recipe or []:
        name, _, text = item.partition("=")
        block = json.loads(text)
        base = block.pop("from", None)
        if base is not None:
            block = {**{k: v for k, v in blocks[base].items() if k not in ("threads", "device")}, **block}
        out[name] = block
    if not out:
        raise SystemExit("no recipe: give --student NAME and/or --recipe NAME=JSON")
    return out


def task_settings(config: dict, task: str) -> tuple[list[str], str]:
    """The task's labels and positive label from the config, else from the data."""
    block = config.get("tasks", {}).get(task, {})
    return block.get("labels"), block.get("positive_label")


def fit_one(job: dict) -> dict:
    """Train one student through the train stage and score its test predictions."""
    from sklearn.metrics import f1_score

    from labeldistill.stages import train

    task_dir = Path(job["task_dir"])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "student"
        predictions = Path(tmp) / "predictions.parquet"
        started = time.perf_counter()
        train.run(
            pool_texts=task_dir / "splits" / "pool.parquet",
            pool_labels=task_dir / "labels" / job["source"] / "pool.parquet",
            val_texts=task_dir / "splits" / "val.parquet",
            val_labels=task_dir / "labels" / job["source"] / "val.parquet",
            student=job["block"],
            labels=job["labels"],
            seed=job["seed"],
            train_size=job["train_size"],
            out_dir=out,
            threads=1,
            config_key=f"students.{job['recipe']}",
            test_texts=task_dir / "splits" / "test.parquet",
            predictions_path=predictions,
        )
        seconds = time.perf_counter() - started
        fit = json.loads((out / "training.json").read_text())
        predicted = pd.read_parquet(predictions)[["id", "label"]]
    test = pd.read_parquet(task_dir / "splits" / "test.parquet")[["id", "label"]]
    joined = test.merge(predicted, on="id", suffixes=("_human", "_student"), validate="one_to_one")
    return {
        "task": job["task"],
        "labels": job["source"],
        "recipe": job["recipe"],
        "seed": job["seed"],
        "f1": float(f1_score(joined["label_human"], joined["label_student"], pos_label=job["positive"])),
        "predicted_positive": float((joined["label_student"] == job["positive"]).mean()),
        "best_epoch": fit.get("best_epoch"),
        "epochs_run": fit["fit"].get("epochs_run"),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a finished run's results folder")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--student", action="append", help="a student block of --config")
    parser.add_argument("--recipe", action="append", help="NAME=JSON student block")
    parser.add_argument("--tasks", nargs="+", help="default: every task folder with splits/")
    parser.add_argument("--labelers", nargs="*", default=["gemma"], help="LLM label sources besides human")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument("--train-size", type=int, default=250)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--rows", type=Path, help="write one row per fit as CSV")
    args = parser.parse_args()

    config = yaml.safe_load(Path(args.config).read_text())
    blocks = recipes(args)
    tasks = args.tasks or sorted(p.name for p in args.results.iterdir() if (p / "splits").is_dir())
    jobs = []
    for task in tasks:
        labels, positive = task_settings(config, task)
        if labels is None:
            test = pd.read_parquet(args.results / task / "splits" / "test.parquet")
            labels = sorted(test["label"].unique())
        if positive is None:
            raise SystemExit(f"{task}: no positive_label in {args.config}")
        for source in ["human", *args.labelers]:
            for name, block in blocks.items():
                for seed in args.seeds:
                    jobs.append(
                        {
                            "task": task,
                            "task_dir": str(args.results / task),
                            "source": source,
                            "recipe": name,
                            "block": block,
                            "labels": list(labels),
                            "positive": positive,
                            "seed": seed,
                            "train_size": args.train_size,
                        }
                    )
    rows = []
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:
        for row in pool.map(fit_one, jobs):
            print(
                f"{row['task']} {row['labels']} {row['recipe']} seed {row['seed']}: F1 {row['f1']:.3f} "
                f"(best epoch {row['best_epoch']} of {row['epochs_run']}, {row['seconds']:.1f} s)",
                flush=True,
            )
            rows.append(row)
    frame = pd.DataFrame(rows)
    if args.rows:
        frame.to_csv(args.rows, index=False)
    table = (
        frame.groupby(["task", "labels", "recipe"], sort=False)
        .agg(
            seeds=("f1", "size"),
            mean_f1=("f1", "mean"),
            sd_f1=("f1", lambda f: float(np.std(f, ddof=1)) if len(f) > 1 else float("nan")),
            min_f1=("f1", "min"),
            max_f1=("f1", "max"),
            seconds_per_fit=("seconds", "mean"),
        )
        .reset_index()
    )
    print()
    print(table.to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
