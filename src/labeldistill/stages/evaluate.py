"""Stage: score one condition's predictions on the test texts against the human labels."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from labeldistill.contracts import PREDICTIONS, SPLIT, read_table, table_labels
from labeldistill.errors import LabelDistillError
from labeldistill.metrics import bootstrap_ci, classification_metrics, jsonable

log = logging.getLogger(__name__)

CI_LEVEL = 0.95
KINDS = ("student", "fewshot")


def _examples(ids) -> str:
    ids = sorted(ids)
    return ", ".join(repr(i) for i in ids[:5]) + (" ..." if len(ids) > 5 else "")


def join_predictions(predictions: Path, test_split: Path):
    """Gold and predicted label per test text, in the test split's order."""
    gold = read_table(test_split, SPLIT)
    pred = read_table(predictions, PREDICTIONS)
    duplicated = pred["id"][pred["id"].duplicated()]
    if len(duplicated):
        raise LabelDistillError(
            f"{predictions}: {len(duplicated)} duplicate prediction id(s): {_examples(duplicated)}"
        )
    missing = set(gold["id"]) - set(pred["id"])
    if missing:
        raise LabelDistillError(
            f"{predictions}: no prediction for {len(missing)} of the {len(gold)} test texts of "
            f"{test_split} (ids {_examples(missing)}); every test id needs a row, "
            "with a null label if the labeler failed"
        )
    extra = set(pred["id"]) - set(gold["id"])
    if extra:
        raise LabelDistillError(
            f"{predictions}: {len(extra)} prediction id(s) are not in the test split "
            f"{test_split} (ids {_examples(extra)}); were they made for another split?"
        )
    return gold.merge(pred[["id", "label"]], on="id", how="left", suffixes=("", "_pred"))


def evaluate(
    predictions: Path,
    test_split: Path,
    positive_label: str,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict:
    """The metrics, their bootstrap intervals, n and n_failed of one predictions file."""
    joined = join_predictions(predictions, test_split)
    labels = table_labels(test_split) or table_labels(predictions)
    if labels is not None and positive_label not in labels:
        raise LabelDistillError(
            f"{test_split}: positive label {positive_label!r} is not one of the task's labels {labels}"
        )
    y_true, y_pred = joined["label"].tolist(), joined["label_pred"].tolist()
    result = classification_metrics(y_true, y_pred, positive_label, labels)
    result["ci"] = bootstrap_ci(
        y_true, y_pred, positive_label, labels, n_boot=n_boot, seed=seed, level=CI_LEVEL
    )
    result["ci_level"] = CI_LEVEL
    result["n_boot"] = int(n_boot)
    result["positive_label"] = positive_label
    result["n_positive"] = int(sum(label == positive_label for label in y_true))
    return result


def run(
    predictions: Path,
    test_split: Path,
    positive_label: str,
    meta: dict,
    out_json: Path,
    n_boot: int = 1000,
    seed: int = 0,
) -> None:
    """Write meta + metrics as JSON (see `evaluate`); NaN is written as null."""
    missing = [key for key in ("task", "condition", "kind", "labeler") if key not in meta]
    if missing:
        raise ValueError(f"meta lacks {missing}")
    if int(n_boot) < 1:
        raise LabelDistillError(f"config key evaluation.n_boot: must be at least 1, not {n_boot}")
    if meta["kind"] not in KINDS:
        raise ValueError(f"meta kind must be one of {KINDS}, not {meta['kind']!r}")
    full_meta = {"student": None, "seed": None, **meta}
    result = {**full_meta, **evaluate(predictions, test_split, positive_label, n_boot, seed)}
    out_json = Path(out_json)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(jsonable(result), indent=2) + "\n", encoding="utf-8")
    log.info(
        "%s %s: F1 %.3f [%.3f, %.3f], n %d, failed %d",
        meta["task"],
        meta["condition"],
        result["f1"],
        *result["ci"]["f1"],
        result["n"],
        result["n_failed"],
    )
