"""Stage: every condition of one task on its test texts, with intervals that say what they cover.

Per condition, the seed-mean of each metric with a 95% interval that covers both the sampling
of test texts and the variation over seeds (`intervals.seed_mean_interval`); per paired
comparison of PAPER.md, the gap with a paired bootstrap interval and a p-value, the same
resampled test texts serving both conditions (`intervals.paired_gap_interval`). The gaps are
of the task's headline metric: the positive label's F1, or macro-F1 for a task with more than
two labels or none named positive (`conditions.headline_metric`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from labeldistill.conditions import paper_gaps, parse_condition
from labeldistill.contracts import COMPARISONS, SPLIT, read_table, table_labels, write_record
from labeldistill.errors import LabelDistillError
from labeldistill.stages.evaluate import join_predictions
from labeldistill.stats.intervals import paired_gap_interval, seed_mean_interval
from labeldistill.stats.metrics import HEADLINES

log = logging.getLogger(__name__)

LEVEL = 0.95


def run(
    task: str,
    test_split: Path,
    predictions: Mapping[str, Mapping[str, str]],
    positive_label: str,
    out_json: Path,
    n_boot: int = 1000,
    seed: int = 0,
    headline: str = "f1",
) -> None:
    """`predictions`: {condition: {seed (or "" for a few-shot condition): predictions file}};
    `headline`: the metric of the gaps (`f1` or `macro_f1`)."""
    if headline not in HEADLINES:
        raise ValueError(f"headline must be one of {HEADLINES}, not {headline!r}")
    gold = read_table(test_split, SPLIT)
    labels = table_labels(test_split) or sorted(gold["label"].unique())
    if positive_label not in labels:
        raise LabelDistillError(f"{test_split}: positive label {positive_label!r} is not one of {labels}")
    y_true = gold["label"].tolist()
    by_condition = {}
    for name, files in predictions.items():
        if not files:
            raise LabelDistillError(f"condition {name}: no predictions files")
        seeds = sorted(files, key=lambda s: (s == "", int(s) if s.isdigit() else 0))
        by_condition[parse_condition(name)] = (
            seeds,
            [join_predictions(Path(files[s]), Path(test_split))["label_pred"].tolist() for s in seeds],
        )
    record = {
        "task": task,
        "positive_label": positive_label,
        "labels": labels,
        "n_test": len(y_true),
        "n_positive": sum(label == positive_label for label in y_true),
        "label_counts": {label: sum(value == label for value in y_true) for label in labels},
        "headline": headline,
        "level": LEVEL,
        "n_boot": int(n_boot),
        "conditions": [],
        "gaps": [],
    }
    common = {
        "positive_label": positive_label,
        "labels": labels,
        "n_boot": n_boot,
        "seed": seed,
        "level": LEVEL,
    }
    for condition, (seeds, preds) in sorted(
        by_condition.items(), key=lambda item: (item[0].rank, item[0].name)
    ):
        record["conditions"].append(
            {
                "condition": condition.name,
                "kind": condition.kind,
                "student": condition.student,
                "labeler": condition.labeler,
                "seeds": [int(s) if s.isdigit() else None for s in seeds],
                "metrics": seed_mean_interval(y_true, preds, **common),
            }
        )
    score = {row["condition"]: row["metrics"][headline]["estimate"] for row in record["conditions"]}
    for gap in paper_gaps(by_condition):
        interval = paired_gap_interval(
            y_true, by_condition[gap.a][1], by_condition[gap.b][1], metric=headline, **common
        )
        record["gaps"].append(
            {
                "comparison": gap.comparison,
                "student": gap.b.student,
                "labeler": gap.b.labeler,
                "condition_a": gap.a.name,
                "condition_b": gap.b.name,
                "metric": headline,
                "n_seeds_a": len(by_condition[gap.a][0]),
                "n_seeds_b": len(by_condition[gap.b][0]),
                "estimate_a": score[gap.a.name],
                "estimate_b": score[gap.b.name],
                **interval,
            }
        )
        log.info(
            "%s: %s - %s: %s gap %.3f [%.3f, %.3f], p %.3g",
            task,
            gap.a.name,
            gap.b.name,
            headline,
            interval["estimate"],
            interval["low"],
            interval["high"],
            interval["p_value"],
        )
    write_record(record, out_json, COMPARISONS)
