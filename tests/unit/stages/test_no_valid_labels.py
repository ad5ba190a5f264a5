"""A condition whose test texts have no label fails its job in one line and writes no file."""

from __future__ import annotations

import pandas as pd
import pytest

from labeldistill.contracts import LABELS, PREDICTIONS, SPLIT, write_table
from labeldistill.errors import LabelDistillError
from labeldistill.logs import error_line, job_errors
from labeldistill.stages import agreement, compare, evaluate, fewshot

LABEL_SET = ["negative", "other"]
GOLD = ["negative", "other", "other", "negative"]
IDS = [f"id{i}" for i in range(len(GOLD))]
META = {"task": "tweets_negative", "condition": "fewshot@gemma", "kind": "fewshot", "labeler": "gemma"}
# What an LLM answers outside the label set leaves in the labels file (max_failed_share 1.0).
ERRORS = ["answer 'positive' is not one of the labels\n['negative', 'other']"] * 3 + ["timeout"]


def split_file(tmp_path):
    path = tmp_path / "tweets_negative" / "splits" / "test.parquet"
    write_table(pd.DataFrame({"id": IDS, "text": "a text", "label": GOLD}), path, SPLIT, labels=LABEL_SET)
    return path


def failed_labels(tmp_path):
    path = tmp_path / "tweets_negative" / "labels" / "gemma" / "test.parquet"
    frame = pd.DataFrame(
        {
            "id": IDS,
            "label": None,
            "probabilities": None,
            "error": ERRORS,
            "labeler": "gemma",
            "backend": "openai",
            "model": "gemma3-270m",
            "prompt_hash": "abc",
            "raw": "positive",
        }
    )
    write_table(frame, path, LABELS, labels=LABEL_SET)
    return path


def failed_predictions(tmp_path):
    """A predictions file of nulls, as one written before the few-shot stage refused them."""
    path = tmp_path / "tweets_negative" / "predictions" / "fewshot@gemma.parquet"
    frame = pd.DataFrame({"id": IDS, "label": None, "probabilities": None})
    write_table(frame, path, PREDICTIONS, labels=LABEL_SET)
    return path


def test_fewshot_of_a_labeler_without_one_label_writes_no_predictions(tmp_path):
    labels = failed_labels(tmp_path)
    out = tmp_path / "tweets_negative" / "predictions" / "fewshot@gemma.parquet"
    with pytest.raises(LabelDistillError) as caught:
        fewshot.run(labels, out)
    line = error_line(caught.value)
    assert "\n" not in str(caught.value)
    assert f"{labels}: 0 of 4 test texts have a label from labeler gemma" in line
    assert "most common error: answer 'positive' is not one of the labels ['negative', 'other']" in line
    assert "server, model and codebook" in line and "error column" in line
    assert not out.parent.exists()  # no file, not even a partial one


def test_the_fewshot_job_exits_with_one_line(tmp_path):
    labels = failed_labels(tmp_path)
    out = tmp_path / "predictions.parquet"
    log_path = tmp_path / "logs" / "fewshot.log"
    with pytest.raises(SystemExit) as exit, job_errors(log_path):
        fewshot.run(labels, out)
    message = str(exit.value.code)
    assert message.startswith(f"labeldistill: {labels}: 0 of 4 test texts") and "\n" not in message
    assert "Traceback" not in log_path.read_text() and not out.exists()


def test_evaluate_of_predictions_without_one_label_writes_no_metrics(tmp_path):
    predictions, split = failed_predictions(tmp_path), split_file(tmp_path)
    out = tmp_path / "tweets_negative" / "metrics" / "fewshot@gemma.json"
    with pytest.raises(LabelDistillError) as caught:
        evaluate.run(predictions, split, "negative", META, out, n_boot=10)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{predictions}: 0 of 4 test texts have a label (every answer failed")
    assert "server, model and codebook" in message
    assert not out.exists() and not out.parent.exists()


def test_compare_refuses_a_condition_without_one_label(tmp_path):
    predictions, split = failed_predictions(tmp_path), split_file(tmp_path)
    out = tmp_path / "comparisons.json"
    with pytest.raises(LabelDistillError, match="0 of 4 test texts have a label"):
        compare.run("tweets_negative", split, {"fewshot@gemma": {"": str(predictions)}}, "negative", out)
    assert not out.exists()


def test_one_label_is_enough_to_score(tmp_path):
    predictions = tmp_path / "p.parquet"
    labels = [None, None, None, "negative"]
    write_table(pd.DataFrame({"id": IDS, "label": labels, "probabilities": None}), predictions, PREDICTIONS)
    out = tmp_path / "m.json"
    evaluate.run(predictions, split_file(tmp_path), "negative", META, out, n_boot=10)
    assert out.exists()


def test_agreement_of_a_labeler_without_one_val_label_writes_no_record(tmp_path):
    labels = failed_labels(tmp_path)  # as the val part's labels
    val = split_file(tmp_path)
    out = tmp_path / "tweets_negative" / "agreement" / "gemma.json"
    with pytest.raises(LabelDistillError) as caught:
        agreement.run(val, labels, None, LABEL_SET, "negative", META, out)
    line = error_line(caught.value)
    assert f"{labels}: 0 of 4 val texts have a label from labeler gemma" in line
    assert "no agreement to measure" in line and "\n" not in str(caught.value)
    assert not out.exists()
