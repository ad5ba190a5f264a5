"""Saved students in their own libraries' formats: a transformers folder that pipeline and the
Auto classes load, a scikit-learn Pipeline; the same probabilities as `labeldistill predict`;
folders saved by earlier versions still load."""

from __future__ import annotations

import json
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from test_students import HELD_OUT, LABELS, TARGETS, TEXTS, TINY_TRANSFORMER, VAL_LABELS, VAL_TEXTS

from labeldistill.students import load_student, make_student
from labeldistill.students.transformer import HEAD_FILE, MeanPooledClassifier

# Texts of different lengths, so that a padded batch differs from one text at a time.
# The joined text is longer than the student's max_length: the pipeline must cut it as the student does.
NEW_TEXTS = [
    *HELD_OUT,
    "ok",
    TEXTS[0] + " " + TEXTS[13] + " " + TEXTS[5],
    "what a day, really",
    " ".join(TEXTS * 3),
]


def predict_cli(student, texts_file, out, *options) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "labeldistill.cli", "predict", "--student", str(student)]
    command += ["--texts", str(texts_file), "--out", str(out), "--threads", "2", *options]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def predicted(student, tmp_path, suffix=".csv") -> np.ndarray:
    """`labeldistill predict` on NEW_TEXTS (a CSV in, `suffix` out): one column per label."""
    texts = tmp_path / "new.csv"
    pd.DataFrame({"id": [f"t{i}" for i in range(len(NEW_TEXTS))], "text": NEW_TEXTS}).to_csv(
        texts, index=False
    )
    out = tmp_path / f"labels{suffix}"
    done = predict_cli(student, texts, out, "--chunk-size", "3")
    assert done.returncode == 0, done.stderr[-3000:]
    frame = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out, dtype={"id": str})
    assert list(frame.columns) == ["id", *[f"probabilities.{label}" for label in LABELS], "label"]
    assert list(frame["id"]) == [f"t{i}" for i in range(len(NEW_TEXTS))]
    proba = frame[[f"probabilities.{label}" for label in LABELS]].to_numpy()
    assert list(frame["label"]) == [LABELS[i] for i in proba.argmax(axis=1)]
    return proba


@pytest.fixture(scope="module")
def minilm_folder(tmp_path_factory):
    settings = {**TINY_TRANSFORMER, "epochs": 1}
    student = make_student(settings, LABELS, seed=1, threads=2).fit(TEXTS, TARGETS, VAL_TEXTS, VAL_LABELS)
    folder = tmp_path_factory.mktemp("minilm") / "student"
    student.save(folder)
    return folder, student.predict_proba(NEW_TEXTS)


def test_the_transformer_student_through_pipeline_auto_classes_and_predict(minilm_folder, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    folder, expected = minilm_folder
    np.testing.assert_allclose(load_student(folder, threads=2).predict_proba(NEW_TEXTS), expected, atol=1e-6)
    classify = pipeline("text-classification", model=str(folder), top_k=None, trust_remote_code=True)
    rows = classify(NEW_TEXTS, truncation=True)
    by_pipeline = np.array(
        [[{d["label"]: d["score"] for d in row}[label] for label in LABELS] for row in rows]
    )
    np.testing.assert_allclose(by_pipeline, expected, atol=1e-5)
    model = AutoModelForSequenceClassification.from_pretrained(str(folder), trust_remote_code=True).eval()
    assert model.config.id2label == dict(enumerate(LABELS)) and model.config.label2id == {"neg": 0, "pos": 1}
    tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=True)
    batch = tokenizer(NEW_TEXTS, padding=True, truncation=True, max_length=32, return_tensors="pt")
    with torch.inference_mode():
        by_auto = torch.softmax(model(**batch).logits, dim=-1).numpy()
    np.testing.assert_allclose(by_auto, expected, atol=1e-5)
    np.testing.assert_allclose(predicted(folder, tmp_path), expected, atol=1e-5)
    assert '"/' not in (folder / "config.json").read_text()  # no absolute path of this machine in the folder


def test_the_transformer_folder_refuses_to_load_without_its_code(minilm_folder):
    # Without trust_remote_code, transformers stops (it once built a BERT with a random head).
    from transformers import AutoModelForSequenceClassification

    folder, _ = minilm_folder
    with pytest.raises(ValueError, match="trust_remote_code"):
        AutoModelForSequenceClassification.from_pretrained(str(folder), trust_remote_code=False)


def test_a_transformer_student_in_the_old_layout_still_loads(minilm_folder, tmp_path):
    """Encoder folder + head.pt, as students were saved before the export format."""
    folder, expected = minilm_folder
    loaded = load_student(folder, threads=2)
    old = tmp_path / "old"
    assert isinstance(loaded.model, MeanPooledClassifier)
    loaded.model.encoder.save_pretrained(old)
    torch.save(loaded.model.classifier.state_dict(), old / HEAD_FILE)
    loaded.tokenizer.save_pretrained(old)
    (old / "student.json").write_text((folder / "student.json").read_text())
    np.testing.assert_allclose(load_student(old, threads=2).predict_proba(NEW_TEXTS), expected, atol=1e-6)


@pytest.mark.parametrize("labels", [LABELS, ["neg", "neutral", "pos"]])
def test_the_tfidf_student_is_a_scikit_learn_pipeline(labels, tmp_path):
    student = make_student({"kind": "tfidf-logreg"}, labels, seed=0).fit(TEXTS, TARGETS)
    student.save(tmp_path / "s")
    pipeline = joblib.load(tmp_path / "s" / "model.joblib")
    assert type(pipeline).__name__ == "Pipeline" and list(pipeline.classes_) == labels
    expected = student.predict_proba(NEW_TEXTS)
    np.testing.assert_allclose(pipeline.predict_proba(NEW_TEXTS), expected, atol=1e-12)
    assert list(pipeline.predict(HELD_OUT)) == student.predict(HELD_OUT)
    if labels == LABELS:
        for suffix in (".csv", ".parquet"):
            np.testing.assert_allclose(predicted(tmp_path / "s", tmp_path, suffix), expected, atol=1e-5)


def test_a_tfidf_student_of_one_label_is_a_pipeline_too(tmp_path):
    student = make_student({"kind": "tfidf-logreg"}, LABELS, seed=0).fit(TEXTS[:12], ["pos"] * 12)
    student.save(tmp_path / "s")
    pipeline = joblib.load(tmp_path / "s" / "model.joblib")
    np.testing.assert_array_equal(pipeline.predict_proba(HELD_OUT), [[0.0, 1.0]] * len(HELD_OUT))
    assert load_student(tmp_path / "s").predict(HELD_OUT) == ["pos"] * len(HELD_OUT)


def test_a_tfidf_student_in_the_old_dict_format_still_loads(tmp_path):
    student = make_student({"kind": "tfidf-logreg"}, LABELS, seed=0).fit(TEXTS, TARGETS)
    student.save(tmp_path / "s")
    expected = student.predict_proba(NEW_TEXTS)
    # Before the Pipeline format: {"pipeline", "constant"}, the regression's classes label indices.
    pipeline = joblib.load(tmp_path / "s" / "model.joblib")
    pipeline.named_steps["logreg"].classes_ = np.array([0, 1])
    joblib.dump({"pipeline": pipeline, "constant": None}, tmp_path / "s" / "model.joblib")
    np.testing.assert_allclose(load_student(tmp_path / "s").predict_proba(NEW_TEXTS), expected, atol=1e-12)
    joblib.dump({"pipeline": None, "constant": 1}, tmp_path / "s" / "model.joblib")
    assert load_student(tmp_path / "s").predict(HELD_OUT) == ["pos"] * len(HELD_OUT)
    assert json.loads((tmp_path / "s" / "student.json").read_text())["kind"] == "tfidf-logreg"
