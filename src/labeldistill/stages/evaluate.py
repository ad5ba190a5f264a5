"""Stage: score one condition's predictions on the test texts against the human labels.

Besides the classification metrics: how well the probabilities are calibrated (Brier score,
expected calibration error, reliability bins; of the positive label's probability in a task of
two labels, of the top label's in a task of more; see `labeldistill.stats.calibration`)
and the share of texts predicted positive beside the human share, since a labeler that shifts
the prevalence trades precision for recall. For every task also each label's precision, recall,
F1 and support, the confusion matrix, and which metric is the task's headline (the positive
label's F1 for a two-label task that names one, else macro-F1; see `conditions.headline_metric`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from labeldistill.contracts import METRICS, PREDICTIONS, SPLIT, read_table, table_labels, write_record
from labeldistill.errors import LabelDistillError
from labeldistill.stats.calibration import (
    POSITIVE_LABEL,
    TOP_LABEL,
    brier_score,
    ece_from_bins,
    is_missing_row,
    multiclass_brier_score,
    reliability_bins,
    top_label_reliability_bins,
)
from labeldistill.stats.metrics import (
    HEADLINES,
    bootstrap_ci,
    classification_metrics,
    confusion_counts,
    per_class_metrics,
    positive_rates,
)

log = logging.getLogger(__name__)

CI_LEVEL = 0.95
N_BINS = 10  # equal-width bins of the probability for ECE and the reliability table
KINDS = ("student", "fewshot")


def _examples(ids) -> str:
    ids = sorted(ids)
    return ", ".join(repr(i) for i in ids[:5]) + (" ..." if len(ids) > 5 else "")


def join_predictions(predictions: Path, test_split: Path):
    """Gold and predicted label (and probabilities) per test text, in the test split's order;
    a LabelDistillError when not one text has a predicted label."""
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
    joined = gold.merge(pred[["id", "label", "probabilities"]], on="id", how="left", suffixes=("", "_pred"))
    # Failed texts are null labels and score as wrong; with none left, the scores would be 0s
    # from no answer at all, so no record is made of them.
    if not joined["label_pred"].notna().any():
        raise LabelDistillError(
            f"{predictions}: 0 of {len(joined)} test texts have a label (every answer failed or fell "
            "outside the labels), so there is nothing to score and no scores were written; check "
            "the labeler's server, model and codebook, and the error column of its labels file"
        )
    return joined


def calibration_quality(joined, predictions: Path, positive_label: str) -> dict:
    """Brier, ECE, reliability bins and n_calibration of the rows that have probabilities, and
    `calibration_of`: what they measure (`positive_label` for two labels, `top_label` for more).

    The probabilities are aligned with the label order stored in the predictions file.
    """
    rows = joined["probabilities"].tolist()
    present = [(i, row) for i, row in zip(joined["id"], rows, strict=True) if not is_missing_row(row)]
    labels = table_labels(predictions)
    if present and labels is None:
        raise LabelDistillError(
            f"{predictions}: has probabilities but no label order in its metadata "
            "(write it with write_table(..., labels=...))"
        )
    if present and positive_label not in labels:
        raise LabelDistillError(
            f"{predictions}: positive label {positive_label!r} is not in its label order {labels}"
        )
    wrong = [i for i, row in present if len(row) != len(labels)]
    if wrong:
        raise LabelDistillError(
            f"{predictions}: {len(wrong)} row(s) whose probabilities do not match its {len(labels)} "
            f"labels {labels} (ids {_examples(wrong)})"
        )
    if not present:
        return {"brier": None, "ece": None, "n_calibration": 0, "reliability": None, "calibration_of": None}
    unknown = sorted(set(map(str, joined["label"])) - set(labels))
    if unknown:
        raise LabelDistillError(
            f"{predictions}: gold label(s) {unknown} of the test texts are not in its label order {labels}"
        )
    gold = joined["label"].tolist()
    if len(labels) == 2:
        bins = reliability_bins(gold, rows, labels, positive_label, n_bins=N_BINS)
        brier, measured = brier_score(gold, rows, labels, positive_label), POSITIVE_LABEL
    else:
        bins = top_label_reliability_bins(gold, rows, labels, n_bins=N_BINS)
        brier, measured = multiclass_brier_score(gold, rows, labels), TOP_LABEL
    return {
        "brier": brier,
        "ece": ece_from_bins(bins),
        "n_calibration": sum(bins["count"]),
        "reliability": bins,
        "calibration_of": measured,
    }


def evaluate(
    predictions: Path,
    test_split: Path,
    positive_label: str,
    n_boot: int = 1000,
    seed: int = 0,
    headline: str = "f1",
) -> dict:
    """The metrics, their bootstrap intervals, n and n_failed of one predictions file.

    Also `positive_rate` and `human_positive_rate`, and the calibration keys `brier`, `ece`,
    `n_calibration` and `reliability` (None when the file has no probabilities); `headline`
    (the task's headline metric, `f1` or `macro_f1`), `per_class` (per label: precision,
    recall, f1, support), `macro_precision`, `macro_recall`, `confusion` (see
    `metrics.confusion_counts`) and `label_counts` (the test texts per gold label).
    """
    if headline not in HEADLINES:
        raise ValueError(f"headline must be one of {HEADLINES}, not {headline!r}")
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
    result.update(positive_rates(y_true, y_pred, positive_label))
    result.update(calibration_quality(joined, predictions, positive_label))
    per_class = per_class_metrics(y_true, y_pred, labels)
    result["headline"] = headline
    result["per_class"] = per_class["labels"]
    result["macro_precision"] = per_class["macro_precision"]
    result["macro_recall"] = per_class["macro_recall"]
    result["confusion"] = confusion_counts(y_true, y_pred, labels)
    result["label_counts"] = {row["label"]: row["support"] for row in per_class["labels"]}
    return result


def run(
    predictions: Path,
    test_split: Path,
    positive_label: str,
    meta: dict,
    out_json: Path,
    n_boot: int = 1000,
    seed: int = 0,
    headline: str = "f1",
) -> None:
    """Write meta + metrics as JSON (see `evaluate`); NaN is written as null."""
    missing = [key for key in ("task", "condition", "kind", "labeler") if key not in meta]
    if missing:
        raise ValueError(f"meta lacks {missing}")
    if int(n_boot) < 1:
        raise LabelDistillError(f"config key evaluation.n_boot: must be at least 1, not {n_boot}")
    if meta["kind"] not in KINDS:
        raise ValueError(f"meta kind must be one of {KINDS}, not {meta['kind']!r}")
    full_meta = {"student": None, "seed": None, "train_size": None, "shots_seed": None, **meta}
    result = {**full_meta, **evaluate(predictions, test_split, positive_label, n_boot, seed, headline)}
    write_record(result, out_json, METRICS)
    log.info(
        "%s %s: %s %.3f [%.3f, %.3f], n %d, failed %d",
        meta["task"],
        meta["condition"],
        headline,
        result[headline],
        *result["ci"][headline],
        result["n"],
        result["n_failed"],
    )
