"""Calibration against the human labels: the positive label's probability (two labels) and the
top label's (more), each checked against scikit-learn or a plain loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from labeldistill.stats.calibration import (
    brier_score,
    ece_from_bins,
    expected_calibration_error,
    multiclass_brier_score,
    positive_probabilities,
    reliability_bins,
    top_label_probabilities,
    top_label_reliability_bins,
)

# -- quality against gold labels ------------------------------------------------------------

# Positive-label probabilities away from bin edges, plus 0, 0.5 and 1; some bins stay empty.
P_NEG = [0.0, 0.03, 0.07, 0.12, 0.18, 0.24, 0.26, 0.45, 0.5, 0.55, 0.62, 0.68, 0.71, 0.93, 0.97, 1.0]
GOLD = ["other", "other", "negative", "other", "other", "negative", "other", "negative"]
GOLD += ["other", "negative", "negative", "other", "negative", "negative", "negative", "negative"]
# Stored in the order ["other", "negative"], as a predictions file may have it.
ROWS = [[1 - p, p] for p in P_NEG]
ORDER = ["other", "negative"]
MISSING = [None, [], [math.nan, math.nan]]


def plain_bins(n_bins: int = 10) -> list[list[int]]:
    """Indices of P_NEG per bin: [0, 0.1], (0.1, 0.2], ..., by a plain loop."""
    members = [[] for _ in range(n_bins)]
    for i, p in enumerate(P_NEG):
        for b in range(n_bins):
            low, high = b / n_bins, (b + 1) / n_bins
            if low < p <= high or (b == 0 and p == 0.0):
                members[b].append(i)
                break
    return members


def test_positive_probabilities_skip_and_count_missing_rows():
    gold, predicted, missing = positive_probabilities(
        [*GOLD, "negative", "other", "negative"], [*ROWS, *MISSING], ORDER, "negative"
    )
    assert missing == 3 and len(gold) == len(GOLD)
    np.testing.assert_allclose(predicted, P_NEG)
    assert gold.tolist() == [float(g == "negative") for g in GOLD]
    with pytest.raises(ValueError, match="row 0: 3 probabilities"):
        positive_probabilities(["other"], [[0.2, 0.3, 0.5]], ORDER, "negative")


def test_brier_score_equals_sklearn():
    y = [int(g == "negative") for g in GOLD]
    expected = brier_score_loss(y, P_NEG)
    assert brier_score(GOLD, ROWS, ORDER, "negative") == pytest.approx(expected, abs=1e-12)
    # Missing rows are left out; the other label's Brier score is the same for two labels.
    with_missing = brier_score([*GOLD, "other", "other", "negative"], [*ROWS, *MISSING], ORDER, "negative")
    assert with_missing == pytest.approx(expected, abs=1e-12)
    assert brier_score(GOLD, ROWS, ORDER, "other") == pytest.approx(expected, abs=1e-12)
    assert math.isnan(brier_score(["other"], [None], ORDER, "negative"))


def test_reliability_bins_and_ece_against_a_plain_loop():
    bins = reliability_bins([*GOLD, "negative"], [*ROWS, None], ORDER, "negative")
    assert set(bins) == {"bin_low", "bin_high", "mean_predicted", "observed", "count"}
    assert all(len(values) == 10 for values in bins.values())
    ece = 0.0
    for b, members in enumerate(plain_bins()):
        assert bins["bin_low"][b] == pytest.approx(b / 10) and bins["bin_high"][b] == pytest.approx(
            (b + 1) / 10
        )
        assert bins["count"][b] == len(members)
        if not members:
            assert bins["mean_predicted"][b] is None and bins["observed"][b] is None
            continue
        mean = sum(P_NEG[i] for i in members) / len(members)
        observed = sum(GOLD[i] == "negative" for i in members) / len(members)
        assert bins["mean_predicted"][b] == pytest.approx(mean, abs=1e-12)
        assert bins["observed"][b] == pytest.approx(observed, abs=1e-12)
        ece += len(members) / len(P_NEG) * abs(mean - observed)
    assert sum(bins["count"]) == len(P_NEG)
    assert None in bins["observed"]  # the data leave some bins empty
    assert expected_calibration_error(GOLD, ROWS, ORDER, "negative") == pytest.approx(ece, abs=1e-12)
    assert math.isnan(expected_calibration_error(["other"], [[]], ORDER, "negative"))


@pytest.mark.parametrize("n_bins", [5, 10])
def test_reliability_bins_match_sklearn_calibration_curve(n_bins):
    y = [int(g == "negative") for g in GOLD]
    observed, mean_predicted = calibration_curve(y, P_NEG, n_bins=n_bins, strategy="uniform")
    bins = reliability_bins(GOLD, ROWS, ORDER, "negative", n_bins=n_bins)
    filled = [b for b in range(n_bins) if bins["count"][b]]
    np.testing.assert_allclose([bins["observed"][b] for b in filled], observed, atol=1e-12)
    np.testing.assert_allclose([bins["mean_predicted"][b] for b in filled], mean_predicted, atol=1e-12)


# -- more than two labels: the top label ------------------------------------------------------
LABELS3 = ["negative", "neutral", "positive"]
ROWS3 = [
    [0.7, 0.2, 0.1],
    [0.1, 0.8, 0.1],
    [0.3, 0.3, 0.4],
    [0.05, 0.15, 0.8],
    [0.45, 0.45, 0.1],  # a tie: argmax takes the first
    [0.2, 0.5, 0.3],
    [0.34, 0.33, 0.33],
    [0.0, 0.0, 1.0],
]
GOLD3 = ["negative", "neutral", "negative", "positive", "neutral", "positive", "neutral", "positive"]


def test_multiclass_brier_score_equals_sklearn():
    expected = brier_score_loss(GOLD3, ROWS3, labels=LABELS3, scale_by_half=False)
    assert multiclass_brier_score(GOLD3, ROWS3, LABELS3) == pytest.approx(expected, abs=1e-12)
    # failed rows are left out
    with_missing = multiclass_brier_score([*GOLD3, "neutral"], [*ROWS3, None], LABELS3)
    assert with_missing == pytest.approx(expected, abs=1e-12)
    assert math.isnan(multiclass_brier_score(["neutral"], [None], LABELS3))


def test_top_label_bins_and_ece_against_a_plain_loop():
    correct, confidence, missing = top_label_probabilities([*GOLD3, "neutral"], [*ROWS3, []], LABELS3)
    top = [max(row) for row in ROWS3]
    right = [LABELS3[row.index(max(row))] == gold for row, gold in zip(ROWS3, GOLD3, strict=True)]
    assert missing == 1 and confidence.tolist() == top and correct.tolist() == [float(r) for r in right]
    assert right[4] is False  # the tie goes to the first label, "negative"; the gold is "neutral"
    bins = top_label_reliability_bins(GOLD3, ROWS3, LABELS3, n_bins=5)
    ece = 0.0
    for b in range(5):
        low, high = b / 5, (b + 1) / 5
        inside = [i for i, p in enumerate(top) if low < p <= high or (b == 0 and p == 0.0)]
        assert bins["count"][b] == len(inside)
        if inside:
            mean = sum(top[i] for i in inside) / len(inside)
            observed = sum(right[i] for i in inside) / len(inside)
            assert bins["mean_predicted"][b] == pytest.approx(mean)
            assert bins["observed"][b] == pytest.approx(observed)
            ece += len(inside) / len(top) * abs(mean - observed)
    assert ece_from_bins(bins) == pytest.approx(ece, abs=1e-12)
    with pytest.raises(ValueError, match="row 0: gold label 'mixed'"):
        top_label_probabilities(["mixed"], [[0.2, 0.3, 0.5]], LABELS3)
