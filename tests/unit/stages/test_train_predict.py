"""The train and predict stages on real SPLIT / LABELS parquet files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from labeldistill.contracts import LABELS, PREDICTIONS, SPLIT, read_table, table_labels, write_table
from labeldistill.errors import LabelDistillError
from labeldistill.stages import predict, train
from labeldistill.students import load_student
from labeldistill.tasks.sampling import draw_ids

TASK_LABELS = ["neg", "pos"]
GOOD = ["great", "lovely", "wonderful", "happy", "love", "best", "nice", "fine", "superb", "glad"]
BAD = ["awful", "terrible", "horrible", "sad", "hate", "worst", "nasty", "poor", "dire", "grim"]
TFIDF = {"kind": "tfidf-logreg", "C": 10.0, "ngram_max": 1}


def corpus(prefix: str, n_per_class: int) -> tuple[list[str], list[str], list[str]]:
    """ids, texts and the labeler's labels: 'pos' texts use GOOD words, 'neg' texts BAD words."""
    ids, texts, labels = [], [], []
    for i in range(n_per_class):
        for label, words in (("pos", GOOD), ("neg", BAD)):
            ids.append(f"{prefix}{len(ids):03d}")
            texts.append(f"a {words[i % 10]} and {words[(i + 3) % 10]} day")
            labels.append(label)
    return ids, texts, labels


def write_part(folder, part: str, n_per_class: int, failed: int = 0, order=TASK_LABELS):
    """A SPLIT file (gold labels all 'neg', so any use of them shows) and a LABELS file."""
    ids, texts, labels = corpus(part, n_per_class)
    split = pd.DataFrame({"id": ids, "text": texts, "label": "neg"})
    write_table(split, folder / f"splits/{part}.parquet", SPLIT, labels=TASK_LABELS)
    given = [None if i < failed else label for i, label in enumerate(labels)]
    frame = pd.DataFrame(
        {
            "id": ids[::-1],  # another row order than the split: the stage joins on id
            "label": given[::-1],
            "probabilities": [
                None if label is None else [0.9 if label == name else 0.1 for name in order]
                for label in given[::-1]
            ],
            "error": ["no label" if label is None else None for label in given[::-1]],
            "labeler": "llm",
            "backend": "local",
            "model": "test",
            "prompt_hash": "h",
        }
    )
    write_table(frame, folder / f"labels/{part}.parquet", LABELS, labels=list(order))
    return ids, labels


@pytest.fixture
def task(tmp_path):
    write_part(tmp_path, "pool", 20, failed=3)
    write_part(tmp_path, "val", 5, failed=1)
    write_part(tmp_path, "test", 4)
    return tmp_path


def train_args(folder, student=TFIDF, seed=1, train_size=None, out="student"):
    return dict(
        pool_texts=folder / "splits/pool.parquet",
        pool_labels=folder / "labels/pool.parquet",
        val_texts=folder / "splits/val.parquet",
        val_labels=folder / "labels/val.parquet",
        student=student,
        labels=TASK_LABELS,
        seed=seed,
        train_size=train_size,
        out_dir=folder / "students" / out,
    )


def test_train_drops_failed_labels_and_uses_the_labelers_labels(task):
    train.run(**train_args(task))
    out = task / "students/student"
    summary = json.loads((out / "training.json").read_text())
    assert summary["n_dropped_failed"] == 3 and summary["n_val_dropped_failed"] == 1
    assert summary["n_train"] == 37 and summary["n_val"] == 9
    # the failed texts are the first three (pos, neg, pos); the counts are the labeler's
    # labels, not the gold column (all 'neg')
    assert summary["label_counts"] == {"neg": 19, "pos": 18}
    assert summary["seed"] == 1 and len(summary["train_ids_hash"]) == 64
    assert summary["seconds"] > 0
    assert load_student(out).predict(["a lovely great day", "a grim awful day"]) == ["pos", "neg"]
    assert [p.name for p in (task / "students").iterdir()] == ["student"]  # no partial left


def test_train_size_draws_the_ids_by_seed(task):
    runs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        train.run(**train_args(task, seed=seed, train_size=10, out=name))
        runs[name] = json.loads((task / f"students/{name}/training.json").read_text())
    # 10 ids are drawn from the 40 pool texts; the ones the labeler failed on are dropped after
    assert runs["a"]["n_drawn"] == 10 and runs["a"]["n_pool"] == 40
    assert runs["a"]["n_train"] == 10 - runs["a"]["n_dropped_failed"]
    assert runs["a"]["drawn_ids_hash"] == runs["b"]["drawn_ids_hash"]
    assert runs["a"]["drawn_ids_hash"] != runs["c"]["drawn_ids_hash"]


def test_every_labeler_of_a_seed_trains_on_the_same_ids(tmp_path):
    """The draw reads no label: a labeler with other labels (and other failures) gets the same
    ids, minus the texts it failed on."""
    ids, _ = write_part(tmp_path, "pool", 20)
    write_part(tmp_path, "val", 5)
    # A second labeler that flips every label and fails on other texts.
    human = read_table(tmp_path / "labels/pool.parquet", LABELS)
    flipped = human.assign(
        label=[
            None if i % 7 == 0 else ("pos" if label == "neg" else "neg")
            for i, label in enumerate(human["label"])
        ]
    )
    flipped["probabilities"] = [None if pd.isna(label) else [0.5, 0.5] for label in flipped["label"]]
    write_table(flipped, tmp_path / "labels/other.parquet", LABELS, labels=TASK_LABELS)
    summaries = {}
    for name, labels_file in (("human", "pool"), ("other", "other")):
        args = train_args(tmp_path, seed=3, train_size=15, out=name)
        args["pool_labels"] = tmp_path / f"labels/{labels_file}.parquet"
        train.run(**args)
        summaries[name] = json.loads((tmp_path / f"students/{name}/training.json").read_text())
    assert summaries["human"]["drawn_ids_hash"] == summaries["other"]["drawn_ids_hash"]
    drawn = draw_ids(ids, 15, seed=3)
    assert summaries["human"]["drawn_ids_hash"] == train.ids_hash(drawn)
    failed = {i for i, label in zip(flipped["id"], flipped["label"], strict=True) if pd.isna(label)}
    assert summaries["other"]["n_dropped_failed"] == len(set(drawn) & failed)
    assert summaries["other"]["train_ids_hash"] == train.ids_hash(sorted(set(drawn) - failed))


def test_min_consistency_drops_and_weights_follow_consistency(tmp_path):
    write_part(tmp_path, "pool", 10)
    write_part(tmp_path, "val", 3)
    labels = read_table(tmp_path / "labels/pool.parquet", LABELS)
    labels["consistency"] = [0.4 if i % 4 == 0 else 1.0 for i in range(len(labels))]
    write_table(labels, tmp_path / "labels/pool.parquet", LABELS, labels=TASK_LABELS)
    train.run(**train_args(tmp_path), training={"min_consistency": 0.5})
    summary = json.loads((tmp_path / "students/student/training.json").read_text())
    assert summary["n_dropped_inconsistent"] == 5 and summary["n_train"] == 15
    train.run(**train_args(tmp_path, out="weighted"), training={"consistency_weights": True})
    weighted = json.loads((tmp_path / "students/weighted/training.json").read_text())
    assert weighted["consistency_weights"] is True and weighted["n_train"] == 20


def test_train_refuses_labels_that_do_not_cover_the_part(task):
    args = train_args(task)
    args["pool_labels"] = task / "labels/val.parquet"
    with pytest.raises(LabelDistillError, match="no label row"):
        train.run(**args)
    assert not (task / "students").exists() or not any((task / "students").iterdir())


def test_train_refuses_a_pool_the_labeler_failed_on_entirely(tmp_path):
    write_part(tmp_path, "pool", 2, failed=4)
    write_part(tmp_path, "val", 2)
    with pytest.raises(LabelDistillError, match="none of the 4 drawn training texts"):
        train.run(**train_args(tmp_path))


def test_soft_targets_follow_the_label_order_of_the_labels_file(tmp_path):
    write_part(tmp_path, "pool", 3, order=["pos", "neg"])
    write_part(tmp_path, "val", 2)
    frame, failed = train.labelled_texts(
        tmp_path / "splits/pool.parquet", tmp_path / "labels/pool.parquet", TASK_LABELS
    )
    assert failed == 0
    for label, row in zip(frame["label"], frame["probabilities"], strict=True):
        assert row == ([0.1, 0.9] if label == "pos" else [0.9, 0.1])
    train.run(**train_args(tmp_path, student={**TFIDF, "targets": "soft"}))
    assert (tmp_path / "students/student/student.json").exists()


def test_predict_writes_a_predictions_table(task):
    train.run(**train_args(task))
    out = task / "predictions/tfidf.parquet"
    predict.run(task / "students/student", task / "splits/test.parquet", out)
    frame = read_table(out, PREDICTIONS)
    test = read_table(task / "splits/test.parquet", SPLIT)
    assert list(frame["id"]) == list(test["id"])
    assert table_labels(out) == TASK_LABELS
    _, _, labels = corpus("test", 4)
    assert list(frame["label"]) == labels
    np.testing.assert_allclose([sum(p) for p in frame["probabilities"]], 1.0)
    assert [p.name for p in out.parent.iterdir()] == ["tfidf.parquet"]


def test_transformer_through_both_stages(task):
    student = {"kind": "transformer", "epochs": 1, "batch_size": 8, "max_length": 32}
    train.run(**train_args(task, student=student, train_size=12), threads=2)
    out_dir = task / "students/student"
    summary = json.loads((out_dir / "training.json").read_text())
    assert summary["n_train"] == 12 - summary["n_dropped_failed"] and summary["best_epoch"] == 1
    meta = json.loads((out_dir / "student.json").read_text())
    assert meta["fit"]["n_val"] == 9 and "val_macro_f1" in meta["fit"]["history"][0]
    out = task / "predictions/minilm.parquet"
    predict.run(out_dir, task / "splits/test.parquet", out, threads=2)
    frame = read_table(out, PREDICTIONS)
    assert len(frame) == 8 and set(frame["label"]) <= set(TASK_LABELS)
    assert all(len(p) == 2 for p in frame["probabilities"])


@pytest.mark.parametrize(
    "student",
    [TFIDF, {"kind": "transformer", "epochs": 2, "batch_size": 8, "max_length": 32}],
    ids=["tfidf", "minilm"],
)
def test_the_train_jobs_predictions_are_those_of_the_saved_student(task, student):
    """Training predicts the test texts with the student in memory: exactly what the saved one says."""
    in_job = task / "predictions/in_job.parquet"
    args = train_args(task, student=student, train_size=12)
    train.run(**args, threads=2, test_texts=task / "splits/test.parquet", predictions_path=in_job)
    saved = task / "predictions/saved.parquet"
    predict.run(task / "students/student", task / "splits/test.parquet", saved, threads=2)
    a, b = read_table(in_job, PREDICTIONS), read_table(saved, PREDICTIONS)
    assert list(a["id"]) == list(b["id"]) and list(a["label"]) == list(b["label"])
    np.testing.assert_allclose(
        np.array(list(a["probabilities"])), np.array(list(b["probabilities"])), atol=1e-6
    )
