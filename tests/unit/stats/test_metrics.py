"""Metrics: hand-computed values, scikit-learn agreement, failures, bootstrap intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score
from three_label_data import GOLD3, LABELS3, PRED3

from labeldistill.conditions import headline_metric
from labeldistill.contracts import jsonable
from labeldistill.stats import metrics
from labeldistill.stats.metrics import bootstrap_ci, classification_metrics, encode_runs

GOLD = ["pos", "pos", "pos", "neg", "neg", "neg", "neg", "pos"]
PRED = ["pos", "neg", "pos", "pos", "neg", "neg", None, None]


def test_hand_computed_binary_with_failures():
    m = classification_metrics(GOLD, PRED, "pos", ["pos", "neg"])
    # tp 2, fp 1, fn 2 (one miss, one failure on a positive); correct 4 of 8
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 4)
    assert m["f1"] == pytest.approx(4 / 7)
    assert m["accuracy"] == pytest.approx(4 / 8)
    # neg: tp 2, gold 4, predicted 3 -> F1 4/7; macro of (4/7, 4/7)
    assert m["macro_f1"] == pytest.approx(4 / 7)
    assert (m["n"], m["n_failed"]) == (8, 2)


def test_matches_sklearn_multiclass_with_failures():
    rng = np.random.default_rng(7)
    gold = rng.choice(["a", "b", "c"], 300).tolist()
    pred = [None if rng.random() < 0.1 else v for v in rng.choice(["a", "b", "c"], 300)]
    as_label = ["<failed>" if v is None else v for v in pred]
    m = classification_metrics(gold, pred, "b")
    assert m["f1"] == pytest.approx(f1_score(gold, as_label, labels=["b"], average=None)[0])
    assert m["precision"] == pytest.approx(precision_score(gold, as_label, labels=["b"], average=None)[0])
    assert m["recall"] == pytest.approx(recall_score(gold, as_label, labels=["b"], average=None)[0])
    assert m["accuracy"] == pytest.approx(accuracy_score(gold, as_label))
    assert m["macro_f1"] == pytest.approx(f1_score(gold, as_label, labels=["a", "b", "c"], average="macro"))
    assert m["n_failed"] == sum(v is None for v in pred)


def test_nan_prediction_is_a_failure_and_all_failures_score_zero():
    m = classification_metrics(["pos", "neg"], [float("nan"), None], "pos")
    assert m == {
        "f1": 0.0,
        "precision": 0.0,
        "recall": 0.0,
        "accuracy": 0.0,
        "macro_f1": 0.0,
        "n": 2,
        "n_failed": 2,
    }


def test_no_predicted_positive_gives_zero_precision_not_nan():
    m = classification_metrics(["pos", "neg", "neg"], ["neg", "neg", "neg"], "pos")
    assert m["precision"] == 0.0 and m["f1"] == 0.0
    assert m["accuracy"] == pytest.approx(2 / 3)


def test_positive_label_absent_from_data():
    m = classification_metrics(["neg", "neg"], ["neg", "neg"], "pos", ["pos", "neg"])
    assert m["f1"] == 0.0 and m["accuracy"] == 1.0 and m["macro_f1"] == 1.0


def _sample(n: int, seed: int):
    rng = np.random.default_rng(seed)
    gold = rng.choice(["pos", "neg"], n).tolist()
    pred = [g if rng.random() < 0.8 else ("neg" if g == "pos" else "pos") for g in gold]
    return gold, pred


def test_bootstrap_contains_point_estimate_for_every_metric():
    gold, pred = _sample(400, 1)
    point = classification_metrics(gold, pred, "pos")
    ci = bootstrap_ci(gold, pred, "pos", n_boot=500, seed=0)
    for name, (lo, hi) in ci.items():
        assert lo <= point[name] <= hi, name
        assert lo < hi


def test_bootstrap_interval_shrinks_with_n():
    small, large = _sample(100, 2), _sample(4000, 2)
    width = [np.diff(bootstrap_ci(*s, "pos", n_boot=400, seed=0)["f1"])[0] for s in (small, large)]
    assert width[1] < width[0] / 3  # ~ 1/sqrt(40) ratio in theory


def test_bootstrap_is_seeded_and_chunking_invariant():
    gold, pred = _sample(300, 3)
    first = bootstrap_ci(gold, pred, "pos", n_boot=200, seed=5)
    assert first == bootstrap_ci(gold, pred, "pos", n_boot=200, seed=5)
    assert first == bootstrap_ci(gold, pred, "pos", n_boot=200, seed=5, max_cells=300 * 7)
    assert first != bootstrap_ci(gold, pred, "pos", n_boot=200, seed=6)


def test_bootstrap_level_and_failures():
    gold, pred = _sample(300, 4)
    wide = bootstrap_ci(gold, pred, "pos", n_boot=400, seed=0, level=0.99)["f1"]
    narrow = bootstrap_ci(gold, pred, "pos", n_boot=400, seed=0, level=0.5)["f1"]
    assert wide[0] < narrow[0] < narrow[1] < wide[1]
    failed = bootstrap_ci(gold, [None] * len(gold), "pos", n_boot=50, seed=0)
    assert failed["accuracy"] == [0.0, 0.0]


def test_jsonable_replaces_nan_infinity_and_numpy_scalars():
    out = jsonable({"a": math.nan, "b": [np.float64(0.5), np.int64(3)], "c": (1, float("nan"))})
    assert out == {"a": None, "b": [0.5, 3], "c": [1, None]}
    assert type(out["b"][1]) is int
    assert jsonable({"df": math.inf, "x": np.float64(-np.inf)}) == {"df": None, "x": None}


def test_encode_runs_codes_every_run_against_one_label_order():
    true, (first, second), order, positive = encode_runs(
        ["b", "a"], [["a", None], ["c", "b"]], "z", labels=["b"]
    )
    assert order == ["b", "a", "c", "z"] and positive == 3
    assert true.tolist() == [0, 1]
    assert first.tolist() == [1, metrics.FAILED] and second.tolist() == [2, 0]


def test_bootstrap_counts_come_in_bounded_chunks():
    x = metrics.indicators(np.array([0, 1, 1]), np.array([0, 1, -1]), 2)
    chunks = list(metrics.bootstrap_counts(x, 5, np.random.default_rng(0), max_cells=6))
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert all(c[:, 1::3].sum(axis=1).tolist() == [3] * len(c) for c in chunks)  # n texts each


# ---- multi-category tasks: per-class figures, confusion matrix, headline -------------------


def test_per_class_figures_equal_sklearn_classification_report():
    from sklearn.metrics import classification_report

    # A failed prediction is a label of its own to scikit-learn, outside the labels scored:
    # a miss of its gold label, as here.
    as_label = ["<failed>" if p is None else p for p in PRED3]
    report = classification_report(GOLD3, as_label, labels=LABELS3, output_dict=True, zero_division=0)
    got = metrics.per_class_metrics(GOLD3, PRED3, LABELS3)
    assert [row["label"] for row in got["labels"]] == LABELS3
    for row in got["labels"]:
        expected = report[row["label"]]
        assert row["precision"] == pytest.approx(expected["precision"])
        assert row["recall"] == pytest.approx(expected["recall"])
        assert row["f1"] == pytest.approx(expected["f1-score"])
        assert row["support"] == expected["support"]
    macro = report["macro avg"]
    assert got["macro_precision"] == pytest.approx(macro["precision"])
    assert got["macro_recall"] == pytest.approx(macro["recall"])
    assert got["macro_f1"] == pytest.approx(macro["f1-score"])
    # and the macro-F1 of the metrics every stage reports is the same number
    assert classification_metrics(GOLD3, PRED3, "negative", LABELS3)["macro_f1"] == pytest.approx(
        macro["f1-score"]
    )


def test_per_class_by_hand():
    got = {row["label"]: row for row in metrics.per_class_metrics(GOLD3, PRED3, LABELS3)["labels"]}
    # negative: gold 5, predicted 2 + 1 (a neutral) + 1 (a positive) = 4, hits 2
    assert (got["negative"]["precision"], got["negative"]["recall"]) == pytest.approx((2 / 4, 2 / 5))
    assert got["negative"]["f1"] == pytest.approx(2 * 2 / (5 + 4))
    # neutral: gold 8, predicted 1 + 5 + 2 = 8, hits 5
    assert got["neutral"]["f1"] == pytest.approx(5 / 8)
    # texts predicted as each label; the two failed ones as none
    assert [got[label]["predicted"] for label in LABELS3] == [4, 8, 6]


def test_confusion_counts_equal_sklearn_and_count_failures_apart():
    from sklearn.metrics import confusion_matrix

    got = metrics.confusion_counts(GOLD3, PRED3, LABELS3)
    done = [i for i, p in enumerate(PRED3) if p is not None]
    expected = confusion_matrix([GOLD3[i] for i in done], [PRED3[i] for i in done], labels=LABELS3)
    assert got["labels"] == LABELS3
    assert got["counts"] == expected.tolist()
    assert got["failed"] == [1, 1, 0]
    assert sum(map(sum, got["counts"])) + sum(got["failed"]) == len(GOLD3)


@pytest.mark.parametrize(
    ("labels", "positive", "headline"),
    [
        (["neg", "other"], "neg", "f1"),
        (["neg", "other"], None, "macro_f1"),  # two labels, none named positive
        (LABELS3, "negative", "macro_f1"),  # three labels: no one label speaks for the task
        (LABELS3, None, "macro_f1"),
    ],
)
def test_headline_metric(labels, positive, headline):
    assert headline_metric(labels, positive) == headline
