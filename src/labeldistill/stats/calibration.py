"""How well predicted label probabilities are calibrated against the human labels.

Two views, one per kind of task (the evaluate stage picks by the number of labels):

- a task of two labels: the positive label's probability against whether the human label is
  the positive one (Brier score, expected calibration error, reliability bins);
- a task of more labels, where no label speaks for the task: top-label calibration (Guo et al.,
  ICML 2017), the probability of the label predicted (the largest) against whether it is the
  human label, with the multi-class Brier score (the squared distance of the probability vector
  from the one-hot human label, summed over labels, as Brier 1950 defined it).

Rows without probabilities (a failed text: None, [] or NaN) are left out, and counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

POSITIVE_LABEL = "positive_label"  # what a calibration record measures: the positive label's
TOP_LABEL = "top_label"  # probability, or the probability of the label predicted


def is_missing_row(row) -> bool:
    """Whether a probabilities cell is missing: None, NaN, empty, or holding a NaN."""
    if row is None:
        return True
    if isinstance(row, float):
        return math.isnan(row)
    values = np.asarray(row, dtype=np.float64)
    return values.size == 0 or bool(np.isnan(values).any())


def probability_matrix(
    y_true: Sequence, probabilities: Sequence, labels: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, int]:
    """The gold label codes and the (rows, labels) probability matrix of the rows that have
    probabilities (aligned with `labels`), and the number of rows without them."""
    labels = [str(label) for label in labels]
    if len(y_true) != len(probabilities):
        raise ValueError(f"{len(y_true)} gold labels but {len(probabilities)} probability rows")
    index = {label: k for k, label in enumerate(labels)}
    gold, rows, missing = [], [], 0
    for i, (label, row) in enumerate(zip(y_true, probabilities, strict=True)):
        if is_missing_row(row):
            missing += 1
            continue
        values = np.asarray(row, dtype=np.float64)
        if values.shape != (len(labels),):
            raise ValueError(f"row {i}: {values.size} probabilities for {len(labels)} labels {labels}")
        if str(label) not in index:
            raise ValueError(f"row {i}: gold label {label!r} is not one of {labels}")
        gold.append(index[str(label)])
        rows.append(values)
    matrix = np.array(rows, dtype=np.float64).reshape(len(rows), len(labels))
    return np.array(gold, dtype=np.int64), matrix, missing


def positive_probabilities(
    y_true: Sequence, probabilities: Sequence, labels: Sequence[str], positive_label: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """Gold 0/1 (is it the positive label) and the positive label's probability, for the rows
    that have probabilities (aligned with `labels`); and the number of rows without them."""
    labels = [str(label) for label in labels]
    if positive_label not in labels:
        raise ValueError(f"positive label {positive_label!r} is not one of {labels}")
    gold, matrix, missing = probability_matrix(y_true, probabilities, labels)
    column = labels.index(positive_label)
    return (gold == column).astype(np.float64), matrix[:, column], missing


def top_label_probabilities(
    y_true: Sequence, probabilities: Sequence, labels: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Gold 0/1 (is the label predicted, the most probable, the human one) and its probability,
    for the rows that have probabilities; and the number of rows without them. A tie goes to
    the first label in `labels`, as argmax does."""
    gold, matrix, missing = probability_matrix(y_true, probabilities, labels)
    predicted = matrix.argmax(axis=1) if len(matrix) else np.zeros(0, dtype=np.int64)
    confidence = matrix[np.arange(len(matrix)), predicted]
    return (predicted == gold).astype(np.float64), confidence, missing


def brier_score(y_true, probabilities, labels, positive_label) -> float:
    """Mean squared difference of the positive probability and the 0/1 gold (NaN: no rows)."""
    gold, predicted, _ = positive_probabilities(y_true, probabilities, labels, positive_label)
    return float(np.mean((predicted - gold) ** 2)) if len(gold) else math.nan


def multiclass_brier_score(y_true, probabilities, labels) -> float:
    """Mean over rows of the squared distance between the probability vector and the one-hot
    gold label, summed over labels (0 to 2; NaN: no rows)."""
    gold, matrix, _ = probability_matrix(y_true, probabilities, labels)
    if not len(gold):
        return math.nan
    one_hot = np.eye(matrix.shape[1])[gold]
    return float(np.mean(((matrix - one_hot) ** 2).sum(axis=1)))


def _bins(predicted: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal-width bin edges on [0, 1] and each probability's bin.

    Bins are closed on the right, the first also on the left ([0, 0.1], (0.1, 0.2], ...), as
    scikit-learn's calibration_curve(strategy="uniform") does.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, not {n_bins}")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return edges, np.searchsorted(edges[1:-1], predicted, side="left")


def bins_of(gold: np.ndarray, predicted: np.ndarray, n_bins: int = 10) -> dict:
    """Per equal-width bin of `predicted`: bin_low, bin_high, mean_predicted, observed (mean of
    the 0/1 `gold`) and count; empty bins are kept with None values."""
    edges, which = _bins(predicted, n_bins)
    out: dict[str, list] = {"bin_low": [], "bin_high": [], "mean_predicted": [], "observed": [], "count": []}
    for b in range(n_bins):
        inside = which == b
        count = int(inside.sum())
        out["bin_low"].append(float(edges[b]))
        out["bin_high"].append(float(edges[b + 1]))
        out["mean_predicted"].append(float(predicted[inside].mean()) if count else None)
        out["observed"].append(float(gold[inside].mean()) if count else None)
        out["count"].append(count)
    return out


def reliability_bins(y_true, probabilities, labels, positive_label, n_bins: int = 10) -> dict:
    """`bins_of` the positive probability: observed is the share of gold positives."""
    gold, predicted, _ = positive_probabilities(y_true, probabilities, labels, positive_label)
    return bins_of(gold, predicted, n_bins)


def top_label_reliability_bins(y_true, probabilities, labels, n_bins: int = 10) -> dict:
    """`bins_of` the top label's probability: observed is the share predicted right."""
    gold, predicted, _ = top_label_probabilities(y_true, probabilities, labels)
    return bins_of(gold, predicted, n_bins)


def expected_calibration_error(y_true, probabilities, labels, positive_label, n_bins: int = 10) -> float:
    """Sum over equal-width bins of (share of rows in the bin) * |mean predicted - observed|."""
    return ece_from_bins(reliability_bins(y_true, probabilities, labels, positive_label, n_bins))


def ece_from_bins(bins: dict) -> float:
    """The expected calibration error of reliability bins (NaN without rows)."""
    total = sum(bins["count"])
    if not total:
        return math.nan
    return float(
        sum(
            count / total * abs(mean - observed)
            for count, mean, observed in zip(
                bins["count"], bins["mean_predicted"], bins["observed"], strict=True
            )
            if count
        )
    )
