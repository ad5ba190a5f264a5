"""Classification metrics against gold labels, with percentile-bootstrap intervals.

A prediction may be missing (None/NaN: the labeler failed on the text). A missing prediction
is never correct: it counts against accuracy, and as a false negative of the gold class (it
predicted no class at all), so it lowers recall and F1 but not precision.

Every metric is computed from weighted counts, `weights @ indicators`, so the point estimate
(all weights 1) and the bootstrap (multinomial resampling weights, one row per replicate)
share one vectorised code path. Undefined ratios (no predicted or no gold positives) are 0,
as scikit-learn's `zero_division=0` does. `intervals` reuses the public helpers (`encode_runs`,
`indicators`, `metrics_from_counts`, `bootstrap_counts`) for intervals over several seeds.

The headline of a task (`conditions.headline_metric`) is the F1 of its positive label when it has two
labels and names one, else macro-F1 (the mean F1 over labels): with three or more categories
no single one speaks for the task. `per_class_metrics` and `confusion_counts` give what a
multi-category task is read by: each label's precision, recall, F1 and support (as scikit-learn's
`classification_report`) and the gold-by-predicted counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

METRICS = ("f1", "precision", "recall", "accuracy", "macro_f1")
HEADLINES = ("f1", "macro_f1")  # the positive label's F1, or the mean F1 over labels
FAILED = -1  # the code of a missing prediction


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def encode(
    y_true: Sequence, y_pred: Sequence, labels: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Integer codes of gold and predicted labels over one label list (missing -> FAILED).

    `labels` fixes the order; labels seen in the data but not in it are appended, sorted.
    """
    true = [str(v) for v in y_true]
    pred = [None if _is_missing(v) else str(v) for v in y_pred]
    if len(true) != len(pred):
        raise ValueError(f"{len(true)} gold labels but {len(pred)} predictions")
    if any(_is_missing(v) for v in y_true):
        raise ValueError("gold labels must not be missing")
    order = list(labels) if labels is not None else []
    seen = set(true) | {p for p in pred if p is not None}
    order += sorted(seen - set(order))
    index = {label: i for i, label in enumerate(order)}
    true_codes = np.array([index[v] for v in true], dtype=np.int64)
    pred_codes = np.array([FAILED if v is None else index[v] for v in pred], dtype=np.int64)
    return true_codes, pred_codes, order


def encode_runs(
    y_true: Sequence, runs: Sequence[Sequence], positive_label: str, labels: Sequence[str] | None = None
) -> tuple[np.ndarray, list[np.ndarray], list[str], int]:
    """Gold codes, one code array per prediction run, the shared label order, the positive index.

    Every run is coded against one label order (`labels`, then any other label seen in the gold
    labels or in any run, sorted; the positive label last if it was seen nowhere), so the runs'
    weighted counts line up column for column.
    """
    order = list(labels) if labels is not None else []
    seen = {str(v) for v in y_true}
    for run in runs:
        seen |= {str(v) for v in run if not _is_missing(v)}
    order += sorted(seen - set(order))
    if positive_label not in order:
        order.append(positive_label)
    true_codes = encode(y_true, [None] * len(y_true), order)[0]
    pred_codes = [encode(y_true, run, order)[1] for run in runs]
    return true_codes, pred_codes, order, order.index(positive_label)


def indicators(true_codes: np.ndarray, pred_codes: np.ndarray, n_labels: int) -> np.ndarray:
    """Columns: correct, then per label gold_k, pred_k, tp_k. Shape (n, 1 + 3 * n_labels)."""
    columns = [true_codes == pred_codes]
    for k in range(n_labels):
        gold, pred = true_codes == k, pred_codes == k
        columns += [gold, pred, gold & pred]
    return np.column_stack(columns).astype(np.float64)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def per_label_from_counts(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support of every label, shape (replicates, n_labels), from
    weighted counts of shape (replicates, 1 + 3 * n_labels)."""
    gold, pred, tp = counts[:, 1::3], counts[:, 2::3], counts[:, 3::3]
    return {
        "precision": _ratio(tp, pred),
        "recall": _ratio(tp, gold),
        "f1": _ratio(2 * tp, gold + pred),
        "support": gold,
        "predicted": pred,
    }


def metrics_from_counts(counts: np.ndarray, n_labels: int, positive: int) -> dict[str, np.ndarray]:
    """Metrics from weighted counts of shape (replicates, 1 + 3 * n_labels)."""
    total = counts[:, 1::3].sum(axis=1)  # sum of gold_k = number of texts
    per_label = per_label_from_counts(counts)
    precision, recall, f1 = per_label["precision"], per_label["recall"], per_label["f1"]
    # The macro average is over the labels present in gold or predictions, as scikit-learn's.
    present = (per_label["support"] + per_label["predicted"]) > 0
    macro = _ratio((f1 * present).sum(axis=1), present.sum(axis=1).astype(np.float64))
    return {
        "f1": f1[:, positive],
        "precision": precision[:, positive],
        "recall": recall[:, positive],
        "accuracy": _ratio(counts[:, 0], total),
        "macro_f1": macro,
    }


def classification_metrics(
    y_true: Sequence, y_pred: Sequence, positive_label: str, labels: Sequence[str] | None = None
) -> dict:
    """Positive-class F1, precision and recall, accuracy and macro-F1; n and n_failed."""
    true_codes, (pred_codes,), order, positive = encode_runs(y_true, [y_pred], positive_label, labels)
    counts = indicators(true_codes, pred_codes, len(order)).sum(axis=0, keepdims=True)
    values = metrics_from_counts(counts, len(order), positive)
    result = {name: float(values[name][0]) for name in METRICS}
    result["n"] = len(true_codes)
    result["n_failed"] = int((pred_codes == FAILED).sum())
    return result


def per_class_metrics(y_true: Sequence, y_pred: Sequence, labels: Sequence[str] | None = None) -> dict:
    """Per label (in `labels` order, then any other label seen, sorted): precision, recall, F1
    and support, as scikit-learn's `classification_report`, and the texts predicted as the
    label; and the macro averages over the labels present in gold or predictions (a failed
    prediction is wrong, as everywhere here, and no label's).

    Returns {"labels": [{label, precision, recall, f1, support, predicted}, ...],
    "macro_precision", "macro_recall", "macro_f1"}.
    """
    true_codes, pred_codes, order = encode(y_true, y_pred, labels)
    counts = indicators(true_codes, pred_codes, len(order)).sum(axis=0, keepdims=True)
    per_label = {name: values[0] for name, values in per_label_from_counts(counts).items()}
    present = (per_label["support"] + per_label["predicted"]) > 0
    rows = [
        {
            "label": label,
            **{name: float(per_label[name][k]) for name in ("precision", "recall", "f1")},
            "support": int(per_label["support"][k]),
            "predicted": int(per_label["predicted"][k]),
        }
        for k, label in enumerate(order)
    ]

    def macro(name: str) -> float:
        return float(per_label[name][present].mean()) if present.any() else 0.0

    return {
        "labels": rows,
        "macro_precision": macro("precision"),
        "macro_recall": macro("recall"),
        "macro_f1": macro("f1"),
    }


def confusion_counts(y_true: Sequence, y_pred: Sequence, labels: Sequence[str] | None = None) -> dict:
    """Gold label (rows) by predicted label (columns) counts, in the order of `encode`; texts
    whose prediction failed are counted per gold label in `failed`, outside the matrix.

    Returns {"labels": [...], "counts": [[...], ...], "failed": [...]}; `counts` equals
    scikit-learn's `confusion_matrix(y_true, y_pred, labels=labels)` over the texts that have a
    prediction.
    """
    true_codes, pred_codes, order = encode(y_true, y_pred, labels)
    k = len(order)
    done = pred_codes != FAILED
    counts = np.bincount(true_codes[done] * k + pred_codes[done], minlength=k * k).reshape(k, k)
    failed = np.bincount(true_codes[~done], minlength=k)
    return {"labels": order, "counts": counts.tolist(), "failed": failed.tolist()}


def positive_rates(gold: Sequence, predicted: Sequence, positive_label: str) -> dict:
    """Share of texts predicted positive (a failed text counts as not positive, in the
    denominator) and share of gold positives; NaN without texts."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels against {len(predicted)} predictions")
    if not len(gold):
        return {"positive_rate": math.nan, "human_positive_rate": math.nan}
    return {
        "positive_rate": float(np.mean([x == positive_label for x in predicted])),
        "human_positive_rate": float(np.mean([x == positive_label for x in gold])),
    }


def bootstrap_weights(rng: np.random.Generator, n: int, rows: int) -> np.ndarray:
    """`rows` multinomial resampling weight vectors (how often each text was drawn)."""
    draws = rng.integers(0, n, size=(rows, n))
    offsets = (np.arange(rows) * n)[:, None]
    return np.bincount((draws + offsets).ravel(), minlength=rows * n).reshape(rows, n)


def bootstrap_counts(
    x: np.ndarray, n_boot: int, rng: np.random.Generator, max_cells: int = 4_000_000
) -> Iterator[np.ndarray]:
    """Weighted counts `weights @ x` of `n_boot` text resamples, in chunks of replicates.

    `x` has one row per text (any number of columns: several runs' indicators side by side are
    resampled together, the same texts for all). A chunk holds at most `max_cells` weights, so
    memory stays bounded for large test sets.
    """
    n = x.shape[0]
    chunk = max(1, min(n_boot, max_cells // max(n, 1)))
    for start in range(0, n_boot, chunk):
        yield bootstrap_weights(rng, n, min(chunk, n_boot - start)) @ x


def bootstrap_ci(
    y_true: Sequence,
    y_pred: Sequence,
    positive_label: str,
    labels: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    max_cells: int = 4_000_000,
) -> dict[str, list[float]]:
    """Percentile-bootstrap intervals of every metric, resampling texts with replacement.

    Deterministic for a given seed and data. Replicates are drawn in chunks of at most
    `max_cells` weights so memory stays bounded for large test sets.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, not {n_boot}")
    true_codes, (pred_codes,), order, positive = encode_runs(y_true, [y_pred], positive_label, labels)
    if len(true_codes) == 0:
        return {name: [math.nan, math.nan] for name in METRICS}
    x = indicators(true_codes, pred_codes, len(order))
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in METRICS}
    for counts in bootstrap_counts(x, n_boot, rng, max_cells):
        values = metrics_from_counts(counts, len(order), positive)
        for name in METRICS:
            parts[name].append(values[name])
    tail = (1 - level) / 2
    return {
        name: [float(v) for v in np.quantile(np.concatenate(parts[name]), [tail, 1 - tail])]
        for name in METRICS
    }
