"""The few-shot and evaluate stages on real parquet files."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss
from three_label_data import GOLD3, LABELS3, PRED3

from labeldistill.contracts import LABELS, PREDICTIONS, SPLIT, read_table, table_labels, write_table
from labeldistill.errors import LabelDistillError
from labeldistill.stages import evaluate, fewshot

LABEL_SET = ["negative", "other"]
GOLD = ["negative", "negative", "other", "other", "other", "negative", "other", "other"]
IDS = [f"id{i}" for i in range(len(GOLD))]
META = {
    "task": "tweets_negative",
    "condition": "fewshot@gemma",
    "kind": "fewshot",
    "student": None,
    "labeler": "gemma",
    "seed": None,
}


def _test_split(tmp_path):
    path = tmp_path / "splits" / "test.parquet"
    write_table(pd.DataFrame({"id": IDS, "text": "a text", "label": GOLD}), path, SPLIT, labels=LABEL_SET)
    return path


def _labels(tmp_path, predicted):
    path = tmp_path / "labels" / "gemma" / "test.parquet"
    probs = [None if p is None else [float(p == "negative"), float(p == "other")] for p in predicted]
    frame = pd.DataFrame(
        {
            "id": IDS,
            "label": predicted,
            "probabilities": probs,
            "error": [None if p else "unparsable answer" for p in predicted],
            "labeler": "gemma",
            "backend": "local",
            "model": "gemma3-270m",
            "prompt_hash": "abc",
        }
    )
    write_table(frame.iloc[::-1], path, LABELS, labels=LABEL_SET)  # order must not matter
    return path


PREDICTED = ["negative", "other", "other", "negative", "other", None, "other", None]


def test_fewshot_keeps_failures_and_label_order(tmp_path):
    out = tmp_path / "predictions" / "fewshot@gemma.parquet"
    fewshot.run(_labels(tmp_path, PREDICTED), out)
    predictions = read_table(out, PREDICTIONS).set_index("id")
    assert list(predictions.columns) == ["label", "probabilities"]
    got = predictions.loc[IDS, "label"]
    assert got.isna().tolist() == [p is None for p in PREDICTED]
    assert got.dropna().tolist() == [p for p in PREDICTED if p is not None]
    assert list(predictions.loc["id0", "probabilities"]) == [1.0, 0.0]
    assert table_labels(out) == LABEL_SET


def test_evaluate_fewshot_end_to_end(tmp_path):
    predictions = tmp_path / "predictions" / "fewshot@gemma.parquet"
    fewshot.run(_labels(tmp_path, PREDICTED), predictions)
    out = tmp_path / "metrics" / "fewshot@gemma.json"
    evaluate.run(predictions, _test_split(tmp_path), "negative", META, out, n_boot=300, seed=1)
    result = json.loads(out.read_text())
    for key, value in META.items():
        assert result[key] == value
    # gold neg neg oth oth oth neg oth oth / pred neg oth oth neg oth FAIL oth FAIL
    # positive "negative": tp 1, fp 1, fn 2 (id1 missed, id5 failed); correct id0 id2 id4 id6
    assert (result["n"], result["n_failed"], result["n_positive"]) == (8, 2, 3)
    assert result["precision"] == pytest.approx(1 / 2)
    assert result["recall"] == pytest.approx(1 / 3)
    assert result["f1"] == pytest.approx(2 / 5)
    assert result["accuracy"] == pytest.approx(4 / 8)
    # other: gold 5, predicted 4, tp 3 -> F1 6/9; macro (2/5 + 2/3) / 2
    assert result["macro_f1"] == pytest.approx((2 / 5 + 6 / 9) / 2)
    assert result["ci_level"] == 0.95 and result["n_boot"] == 300
    assert set(result["ci"]) == {"f1", "precision", "recall", "accuracy", "macro_f1"}
    for name, (lo, hi) in result["ci"].items():
        assert 0.0 <= lo <= result[name] <= hi <= 1.0, name
    # predicted "negative": id0, id3 of 8 (a failure is not positive); gold 3 of 8
    assert result["positive_rate"] == pytest.approx(2 / 8)
    assert result["human_positive_rate"] == pytest.approx(3 / 8)
    # one-hot probabilities of the 6 labelled texts: wrong on id1 and id3
    assert result["n_calibration"] == 6
    assert result["brier"] == pytest.approx(2 / 6)
    assert result["ece"] == pytest.approx(2 / 6)
    assert result["reliability"]["count"] == [4, 0, 0, 0, 0, 0, 0, 0, 0, 2]
    assert result["reliability"]["observed"][1] is None


def test_evaluate_is_deterministic_for_a_seed(tmp_path):
    predictions = tmp_path / "p.parquet"
    write_table(
        pd.DataFrame({"id": IDS, "label": PREDICTED, "probabilities": None}), predictions, PREDICTIONS
    )
    split = _test_split(tmp_path)
    meta = {
        **META,
        "condition": "tfidf-logreg@gemma:250",
        "kind": "student",
        "student": "tfidf-logreg",
        "seed": 2,
    }
    evaluate.run(predictions, split, "negative", meta, tmp_path / "a.json", n_boot=200, seed=4)
    evaluate.run(predictions, split, "negative", meta, tmp_path / "b.json", n_boot=200, seed=4)
    evaluate.run(predictions, split, "negative", meta, tmp_path / "c.json", n_boot=200, seed=5)
    a, b, c = (json.loads((tmp_path / f"{x}.json").read_text()) for x in "abc")
    assert a == b
    assert a["ci"] != c["ci"] and a["f1"] == c["f1"]
    assert a["seed"] == 2 and a["student"] == "tfidf-logreg"
    # no probabilities at all: no calibration figures, and no label order needed
    assert (a["n_calibration"], a["brier"], a["ece"], a["reliability"]) == (0, None, None, None)


# Probability of "negative" per test text; id5 failed (no probabilities), id7 has NaN ones.
P_NEG = [0.9, 0.35, 0.2, 0.65, 0.05, None, 0.42, None]


def _predictions_with_probabilities(tmp_path, order, name="p.parquet"):
    path = tmp_path / name
    probabilities = [
        None if p is None else ([p, 1 - p] if order[0] == "negative" else [1 - p, p]) for p in P_NEG
    ]
    probabilities[7] = [float("nan"), float("nan")]
    predicted = [None if p is None else ("negative" if p > 0.5 else "other") for p in P_NEG]
    write_table(
        pd.DataFrame({"id": IDS, "label": predicted, "probabilities": probabilities}),
        path,
        PREDICTIONS,
        labels=order,
    )
    return path


def test_evaluate_calibration_follows_the_files_label_order(tmp_path):
    split = _test_split(tmp_path)
    kept = [i for i, p in enumerate(P_NEG) if p is not None]
    y = [int(GOLD[i] == "negative") for i in kept]
    expected = brier_score_loss(y, [P_NEG[i] for i in kept])
    results = []
    for order in (LABEL_SET, LABEL_SET[::-1]):
        path = _predictions_with_probabilities(tmp_path, order, f"{order[0]}.parquet")
        results.append(evaluate.evaluate(path, split, "negative", n_boot=50))
    a, b = results
    assert a["brier"] == pytest.approx(expected) and b["brier"] == pytest.approx(expected)
    assert a["ece"] == pytest.approx(b["ece"]) and a["reliability"] == b["reliability"]
    assert a["n_calibration"] == 6 and a["n_failed"] == 2
    # one text in each of the bins 0 (0.05), 1 (0.2), 3 (0.35), 4 (0.42), 6 (0.65), 8 (0.9)
    assert a["reliability"]["count"] == [1, 1, 0, 1, 1, 0, 1, 0, 1, 0]
    assert a["positive_rate"] == pytest.approx(2 / 8)  # id0 and id3
    # one text per bin, |p - y|: id0 0.9-1, id1 0.35-1, id2 0.2-0, id3 0.65-0, id4 0.05-0, id6 0.42-0
    assert a["ece"] == pytest.approx((0.1 + 0.65 + 0.2 + 0.65 + 0.05 + 0.42) / 6)


def test_evaluate_rejects_probabilities_without_label_order(tmp_path):
    path = tmp_path / "p.parquet"
    write_table(
        pd.DataFrame({"id": IDS, "label": GOLD, "probabilities": [[0.5, 0.5]] * len(IDS)}), path, PREDICTIONS
    )
    with pytest.raises(LabelDistillError, match=r"p\.parquet.*no label order"):
        evaluate.evaluate(path, _test_split(tmp_path), "negative", n_boot=10)
    short = tmp_path / "short.parquet"
    write_table(
        pd.DataFrame({"id": IDS, "label": GOLD, "probabilities": [[1.0]] * len(IDS)}),
        short,
        PREDICTIONS,
        labels=LABEL_SET,
    )
    with pytest.raises(LabelDistillError, match=r"short\.parquet.*8 row\(s\).*'id0'"):
        evaluate.evaluate(short, _test_split(tmp_path), "negative", n_boot=10)


def test_evaluate_missing_prediction_names_the_file(tmp_path):
    predictions = tmp_path / "short.parquet"
    write_table(
        pd.DataFrame({"id": IDS[:-1], "label": "other", "probabilities": None}), predictions, PREDICTIONS
    )
    with pytest.raises(LabelDistillError, match=r"short\.parquet.*1 of the 8.*'id7'"):
        evaluate.run(predictions, _test_split(tmp_path), "negative", META, tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


def test_evaluate_rejects_foreign_and_duplicate_ids(tmp_path):
    split = _test_split(tmp_path)
    extra = tmp_path / "extra.parquet"
    write_table(
        pd.DataFrame({"id": [*IDS, "other_split"], "label": "other", "probabilities": None}),
        extra,
        PREDICTIONS,
    )
    with pytest.raises(LabelDistillError, match="extra.parquet.*not in the test split"):
        evaluate.run(extra, split, "negative", META, tmp_path / "m.json")
    twice = tmp_path / "twice.parquet"
    write_table(
        pd.DataFrame({"id": [*IDS, "id0"], "label": "other", "probabilities": None}), twice, PREDICTIONS
    )
    with pytest.raises(LabelDistillError, match="twice.parquet.*duplicate"):
        evaluate.run(twice, split, "negative", META, tmp_path / "m.json")


def test_evaluate_rejects_positive_label_outside_the_task(tmp_path):
    predictions = tmp_path / "p.parquet"
    write_table(pd.DataFrame({"id": IDS, "label": GOLD, "probabilities": None}), predictions, PREDICTIONS)
    with pytest.raises(LabelDistillError, match="'positive' is not one of"):
        evaluate.run(predictions, _test_split(tmp_path), "positive", META, tmp_path / "m.json")


# ---- a task of three labels: macro-F1 headline, per-class figures, confusion, gaps ---------


def _three_label_files(tmp_path):
    ids = [f"t{i:02d}" for i in range(len(GOLD3))]
    test = tmp_path / "splits" / "test.parquet"
    write_table(pd.DataFrame({"id": ids, "text": "a text", "label": GOLD3}), test, SPLIT, labels=LABELS3)
    runs = {}
    for name, predicted in (("a", PRED3), ("b", GOLD3[:10] + PRED3[10:])):
        path = tmp_path / "predictions" / f"{name}.parquet"
        probs = [None if p is None else [float(p == label) for label in LABELS3] for p in predicted]
        frame = pd.DataFrame({"id": ids, "label": predicted, "probabilities": probs})
        write_table(frame, path, PREDICTIONS, labels=LABELS3)
        runs[name] = path
    return test, runs, GOLD3, LABELS3


def test_evaluate_a_three_label_task_reports_per_class_and_confusion(tmp_path):
    from sklearn.metrics import classification_report, confusion_matrix

    test, runs, gold, labels = _three_label_files(tmp_path)
    out = tmp_path / "metrics.json"
    evaluate.run(runs["a"], test, "negative", META, out, n_boot=200, headline="macro_f1")
    result = json.loads(out.read_text())
    predicted = read_table(runs["a"], PREDICTIONS)["label"].tolist()
    as_label = ["<failed>" if p is None else p for p in predicted]
    report = classification_report(gold, as_label, labels=labels, output_dict=True, zero_division=0)
    assert result["headline"] == "macro_f1"
    assert [row["label"] for row in result["per_class"]] == labels
    for row in result["per_class"]:
        assert row["f1"] == pytest.approx(report[row["label"]]["f1-score"])
        assert row["precision"] == pytest.approx(report[row["label"]]["precision"])
        assert row["recall"] == pytest.approx(report[row["label"]]["recall"])
        assert row["support"] == report[row["label"]]["support"]
    assert result["macro_f1"] == pytest.approx(report["macro avg"]["f1-score"])
    assert result["macro_recall"] == pytest.approx(report["macro avg"]["recall"])
    low, high = result["ci"]["macro_f1"]
    assert low < result["macro_f1"] < high
    done = [i for i, p in enumerate(predicted) if isinstance(p, str)]  # a failed one reads as None or NaN
    assert (
        result["confusion"]["counts"]
        == confusion_matrix([gold[i] for i in done], [predicted[i] for i in done], labels=labels).tolist()
    )
    assert result["label_counts"] == {"negative": 5, "neutral": 8, "positive": 7}
    # calibration of the top label's probability (one-hot here: confidence 1 on every labelled
    # text, so the ECE is the share of them predicted wrong) and the multi-class Brier score
    assert result["calibration_of"] == "top_label" and result["n_calibration"] == len(done)
    one_hot = [[float(predicted[i] == label) for label in labels] for i in done]
    expected = brier_score_loss([gold[i] for i in done], one_hot, labels=labels, scale_by_half=False)
    assert result["brier"] == pytest.approx(expected)
    assert result["ece"] == pytest.approx(sum(gold[i] != predicted[i] for i in done) / len(done))


def test_compare_gaps_use_the_headline(tmp_path):
    from labeldistill.contracts import COMPARISONS, read_record
    from labeldistill.stages import compare
    from labeldistill.stats.metrics import classification_metrics

    test, runs, gold, labels = _three_label_files(tmp_path)
    out = tmp_path / "comparisons.json"
    predictions = {
        "tfidf-logreg@human:250": {"1": str(runs["b"])},
        "tfidf-logreg@gemma:250": {"1": str(runs["a"])},
    }
    compare.run("t", test, predictions, "negative", out, n_boot=200, headline="macro_f1")
    record = read_record(out, COMPARISONS)
    assert record["headline"] == "macro_f1"
    (gap,) = record["gaps"]
    macro = {
        name: classification_metrics(
            gold, read_table(path, PREDICTIONS)["label"].tolist(), "negative", labels
        )["macro_f1"]
        for name, path in runs.items()
    }
    assert gap["metric"] == "macro_f1"
    assert gap["estimate"] == pytest.approx(macro["b"] - macro["a"])
    assert gap["estimate_a"] == pytest.approx(macro["b"]) and gap["estimate_b"] == pytest.approx(macro["a"])
