"""The local teacher's calibration priors compared on the default run's test texts.

    python bench/local_calibration.py --threads 2 [--models-dir DIR] [--tasks tweets_negative,nyt_negative]

For every task of config.yaml: the default run's split, the `gemma` labeler's few-shot examples
and calibration texts drawn as the annotate stage draws them, then the test texts labelled once
(raw probabilities) and the calibrations applied to the same probabilities, with the teacher's
decision rule: none (raw, argmax), uniform (batch calibration, argmax), examples (target = the
examples' label shares; labels in those shares on the calibration texts), em (target = the EM
prior of the calibration texts, which comes out as their raw mean).
Prints, per task and calibration, the share predicted positive beside the human share,
precision, recall and F1 of the positive label, Brier score and ECE against the human labels,
and the ROC AUC of the positive probability (the same for every calibration with two labels:
each is a monotone map of the raw probability, so they differ only in where the argmax cuts).
Set OMP_WAIT_POLICY=PASSIVE when the cores are shared.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import yaml
from sklearn.metrics import roc_auc_score

from labeldistill.stats.calibration import brier_score, expected_calibration_error
from labeldistill.stats.metrics import classification_metrics
from labeldistill.tasks.spec import TaskSpec, load_texts
from labeldistill.tasks.splits import SplitSizes, split_task
from labeldistill.teachers.local.calibration import calibration_sample
from labeldistill.teachers.local.models import prepare_local_model
from labeldistill.teachers.local.prior import (
    calibrate,
    calibration_target,
    check_target,
    label_prior,
    prior_matching_offsets,
)
from labeldistill.teachers.local.teacher import LocalTeacher
from labeldistill.teachers.prompts.completion import build_prompt
from labeldistill.teachers.prompts.few_shot import few_shot_examples
from labeldistill.teachers.settings import parse_labeler

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("none", "uniform", "examples", "em")


def task_spec(name: str, settings: dict) -> TaskSpec:
    paths = {
        key: str(ROOT / settings[key]) for key in ("texts", "codebook", "coder_labels") if key in settings
    }
    return TaskSpec.from_config(name, {**settings, **paths})


def label_task(name: str, config: dict, labeler: str, model_dir: Path, threads: int) -> dict:
    """Raw probabilities of the calibration and test texts of the default run, and the rest."""
    task = task_spec(name, config["tasks"][name])
    split = config["split"]
    parts = split_task(load_texts(task), SplitSizes.from_config(split), int(split["seed"]), name)
    pool, test = parts["pool"], parts["test"]
    settings = parse_labeler(labeler, config["labelers"][labeler])
    examples = few_shot_examples(pool, settings, labeler)
    calibration = calibration_sample(pool, examples, settings.calibration_texts, settings.shots_seed)
    labels = list(task.labels)
    prompt = build_prompt(task.codebook.read_text(encoding="utf-8"), labels, examples)
    teacher = LocalTeacher(model_dir, labels, prompt, threads=threads, model_name=settings.model)
    t0 = time.perf_counter()
    raw_calibration, calibration_errors = teacher._probabilities(calibration, progress=False)
    raw, errors = teacher._probabilities(list(test["text"]), progress=False)
    print(f"{name}: {len(calibration) + len(test)} texts labelled in {time.perf_counter() - t0:.1f} s")
    return {
        "labels": np.array(labels),
        "positive_label": np.array(task.positive_label),
        "example_labels": np.array([e.label for e in examples]),
        "raw_calibration": raw_calibration[[i not in calibration_errors for i in range(len(calibration))]],
        "raw": raw,
        "failed": np.array(sorted(errors), dtype=np.int64),
        "gold": np.array(test["label"], dtype=str),
    }


def compare(name: str, data: dict) -> list[dict]:
    """One row per calibration of the same raw probabilities."""
    labels = [str(label) for label in data["labels"]]
    positive_label = str(data["positive_label"])
    positive = labels.index(positive_label)
    gold = [str(label) for label in data["gold"]]
    raw, raw_calibration = data["raw"], data["raw_calibration"]
    failed = {int(i) for i in data["failed"]}
    mean = raw_calibration.mean(axis=0)
    examples = label_prior([str(label) for label in data["example_labels"]], labels)
    settings = {"uniform": "uniform", "examples": examples, "em": "em"}
    ok = [i for i in range(len(gold)) if i not in failed]
    auc = roc_auc_score([gold[i] == positive_label for i in ok], raw[ok, positive])
    rows = []
    for method in METHODS:
        if method == "none":
            probabilities, target = raw, None
        else:
            target, how = calibration_target(check_target(settings[method], labels), raw_calibration)
            probabilities = calibrate(raw, mean, target)
        # The teacher's decision rule: labels in the target's shares unless the target is uniform.
        offsets = np.zeros(len(labels))
        if method not in ("none", "uniform"):
            offsets = prior_matching_offsets(calibrate(raw_calibration, mean, target), target)
        scores = np.log(np.clip(probabilities, 1e-12, None)) + offsets
        predicted = [None if i in failed else labels[int(np.argmax(row))] for i, row in enumerate(scores)]
        rows_p = [None if i in failed else list(row) for i, row in enumerate(probabilities)]
        quality = classification_metrics(gold, predicted, positive_label, labels)
        rows.append(
            {
                "task": name,
                "calibration": method,
                "target": "-" if target is None else f"{target[positive]:.3f}",
                "pred_pos": np.mean([p == positive_label for p in predicted]),
                "human_pos": np.mean([g == positive_label for g in gold]),
                "precision": quality["precision"],
                "recall": quality["recall"],
                "f1": quality["f1"],
                "brier": brier_score(gold, rows_p, labels, positive_label),
                "ece": expected_calibration_error(gold, rows_p, labels, positive_label),
                "auc": auc,
            }
        )
    print(
        f"{name}: {len(gold)} test texts ({len(failed)} failed), {len(data['example_labels'])} examples "
        f"({int(np.sum(data['example_labels'] == positive_label))} {positive_label}), "
        f"{len(raw_calibration)} calibration texts, mean prediction of {positive_label} {mean[positive]:.3f}"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--tasks", default="tweets_negative,nyt_negative")
    parser.add_argument("--labeler", default="gemma")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=ROOT / "results" / "models",
        help="converted models (the workflow's models_dir, so a finished run's model is reused)",
    )
    parser.add_argument("--raw-dir", type=Path, help="keep the raw probabilities here (TASK.npz)")
    parser.add_argument("--from-raw", action="store_true", help="read them from --raw-dir, no model")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    config = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    model = str(config["labelers"][args.labeler]["model"])
    model_dir = args.models_dir / model
    rows = []
    for name in args.tasks.split(","):
        saved = args.raw_dir / f"{name}.npz" if args.raw_dir else None
        if args.from_raw:
            data = dict(np.load(saved))
        else:
            if not (model_dir / "config.json").exists():
                prepare_local_model(model, model_dir)
            data = label_task(name, config, args.labeler, model_dir, args.threads)
            if saved:
                saved.parent.mkdir(parents=True, exist_ok=True)
                np.savez(saved, **data)
        rows += compare(name, data)
    columns = list(rows[0])
    print("\n| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = [value if isinstance(value, str) else f"{value:.3f}" for value in row.values()]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
