"""`labeldistill predict` on files (CSV and parquet, chunked) and its one-line refusals; the
model card the train job writes and the one the export job completes with the test score."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from labeldistill.stages import export_students, train
from labeldistill.stages.predict import label_file
from labeldistill.students import make_student

LABELS = ["neg", "pos"]
TEXTS = ["a lovely great day", "awful and sad", "I hate it", "happy, love it", "so sad, terrible"]
TARGETS = ["pos", "neg", "neg", "pos", "neg"]


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tfidf") / "student"
    make_student({"kind": "tfidf-logreg", "C": 1.0, "ngram_max": 1}, LABELS, seed=0).fit(TEXTS, TARGETS).save(
        folder
    )
    return folder


def cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "labeldistill.cli", "predict", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def texts_file(tmp_path, name="texts.csv", **columns):
    frame = pd.DataFrame(
        columns or {"post": ["p1", "p2", "p3"], "body": ["love it", "sad\nand awful", "great"]}
    )
    path = tmp_path / name
    frame.to_parquet(path) if name.endswith(".parquet") else frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("name", ["texts.csv", "texts.parquet"])
def test_chunks_give_the_rows_of_one_pass(student, tmp_path, name):
    path = texts_file(tmp_path, name)
    outs = []
    for size in (1, 2, 1000):
        out = tmp_path / f"out{size}.parquet"
        counts = label_file(student, path, out, "post", "body", chunk_size=size)
        outs.append(pd.read_parquet(out))
        assert sum(counts.values()) == 3
    for frame in outs[1:]:
        pd.testing.assert_frame_equal(frame, outs[0])
    assert list(outs[0]["post"]) == ["p1", "p2", "p3"]
    np.testing.assert_allclose(outs[0][["probabilities.neg", "probabilities.pos"]].sum(axis=1), 1.0)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial file left


def test_bad_inputs_are_one_line_each(student, tmp_path):
    path = texts_file(tmp_path)
    cases = [
        ((student, path, tmp_path / "o.csv", "--id-column", "post"), "no column 'text'"),
        ((student, path, tmp_path / "o.csv", "--text-column", "body"), "no column 'id'"),
        ((tmp_path, path, tmp_path / "o.csv"), "not a saved student"),
        (
            (student, path, tmp_path / "o.xlsx", "--id-column", "post", "--text-column", "body"),
            "cannot write",
        ),
        ((student, tmp_path / "none.csv", tmp_path / "o.csv"), "file not found"),
    ]
    for (folder, texts, out, *options), named in cases:
        done = cli("--student", folder, "--texts", texts, "--out", out, *options)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1 and len(lines) == 1, done.stderr
        assert lines[0].startswith("labeldistill: ") and named in lines[0], lines[0]
        assert (
            str(texts if "column" in named or "found" in named else folder if "student" in named else out)
            in lines[0]
        )
    assert not (tmp_path / "o.csv").exists()


def test_an_empty_text_is_refused_with_its_row(student, tmp_path):
    path = texts_file(tmp_path, id=["a", "b"], text=["fine", ""])
    done = cli("--student", student, "--texts", path, "--out", tmp_path / "o.csv")
    assert done.returncode == 1 and "row 2 of the texts: empty text" in done.stderr


def test_the_card_of_the_train_job_and_of_the_export(tmp_path):
    from test_train_predict import TFIDF, train_args, write_part

    write_part(tmp_path, "pool", 20, failed=3)
    write_part(tmp_path, "val", 5)
    card = {"task": "demo", "student": "tfidf", "labeler": "llm", "code": "abc123"}
    train.run(**train_args(tmp_path, TFIDF, seed=2, train_size=30), card=card)
    text = (tmp_path / "students/student/README.md").read_text()
    for fact in ("neg, pos", "Labeler: llm", "labels of llm", "30 texts drawn with seed 2", "abc123", "UTC"):
        assert fact in text, fact
    assert "Test score: not known" in text and "joblib.load" in text and "labeldistill predict" in text
    metrics = tmp_path / "metrics.json"
    record = {
        "task": "demo",
        "condition": "tfidf@llm:30",
        "kind": "student",
        "labeler": "llm",
        "student": "tfidf",
    }
    record |= {
        "seed": 2,
        "train_size": "30",
        "n": 200,
        "n_failed": 0,
        "positive_label": "neg",
        "headline": "f1",
    }
    record |= {"f1": 0.61, "precision": 0.6, "recall": 0.62, "accuracy": 0.7, "macro_f1": 0.66}
    record |= {"ci": {"f1": [0.52, 0.69]}, "ci_level": 0.95}
    metrics.write_text(json.dumps(record))
    out = tmp_path / "export"
    export_students.run([tmp_path / "students/student"], [metrics], ["tfidf/llm/n30/seed2"], out)
    exported = out / "tfidf/llm/n30/seed2"
    final = (exported / "README.md").read_text()
    assert "Test F1 of neg: 0.610 (95% interval 0.520 to 0.690" in final and "abc123" in final
    assert "Test score: not known" in (tmp_path / "students/student/README.md").read_text()  # not linked
    assert (exported / "model.joblib").stat().st_ino == (
        tmp_path / "students/student/model.joblib"
    ).stat().st_ino
