"""Students: real models on tiny corpora (tf-idf + logistic regression, MiniLM fine-tuning)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from labeldistill.errors import LabelDistillError
from labeldistill.students import STUDENT_KINDS, load_student, make_student

LABELS = ["neg", "pos"]
POSITIVE = [
    "I love this film, wonderful and great",
    "what a great and happy day",
    "wonderful people, I love them",
    "happy with this great result",
    "a lovely, wonderful surprise",
    "great work, I am so happy",
    "love love love this, wonderful",
    "the best and most lovely show",
    "such a great and lovely evening",
    "happy, happy, happy: great news",
    "wonderful food and great friends",
    "I love the lovely weather today",
]
NEGATIVE = [
    "I hate this film, awful and terrible",
    "what a terrible and sad day",
    "awful people, I hate them",
    "sad about this terrible result",
    "a horrible, awful surprise",
    "terrible work, I am so sad",
    "hate hate hate this, awful",
    "the worst and most horrible show",
    "such a terrible and horrible evening",
    "sad, sad, sad: terrible news",
    "awful food and terrible service",
    "I hate the horrible weather today",
]
TEXTS = POSITIVE + NEGATIVE
TARGETS = ["pos"] * len(POSITIVE) + ["neg"] * len(NEGATIVE)
HELD_OUT = [
    "a great, lovely and happy film",
    "love it, wonderful",
    "terrible, awful, sad",
    "I hate this horrible thing",
]
HELD_OUT_LABELS = ["pos", "pos", "neg", "neg"]
VAL_TEXTS = POSITIVE[:3] + NEGATIVE[:3]
VAL_LABELS = ["pos"] * 3 + ["neg"] * 3

TINY_TRANSFORMER = {
    "kind": "transformer",
    "model": "minilm-l6",
    "epochs": 2,
    "batch_size": 8,
    "max_length": 32,
    "learning_rate": 1e-4,
    "patience": 0,
}


# -- tfidf-logreg ---------------------------------------------------------------------------
def tfidf(seed: int = 0, **settings):
    return make_student({"kind": "tfidf-logreg", **settings}, LABELS, seed=seed)


def test_tfidf_learns_a_two_class_corpus():
    student = tfidf().fit(TEXTS, TARGETS)
    proba = student.predict_proba(HELD_OUT)
    assert proba.shape == (len(HELD_OUT), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert student.predict(HELD_OUT) == HELD_OUT_LABELS
    assert student.fit_info["train_label_counts"] == {"neg": 12, "pos": 12}


def test_tfidf_columns_follow_the_label_order():
    reversed_labels = ["pos", "neg"]
    student = make_student({"kind": "tfidf-logreg"}, reversed_labels, seed=0).fit(TEXTS, TARGETS)
    forward = tfidf().fit(TEXTS, TARGETS)
    np.testing.assert_allclose(student.predict_proba(HELD_OUT), forward.predict_proba(HELD_OUT)[:, ::-1])
    assert student.predict(HELD_OUT) == HELD_OUT_LABELS


def test_tfidf_save_load_round_trip(tmp_path):
    student = tfidf(seed=3, C=2.0, ngram_max=1).fit(TEXTS, TARGETS, VAL_TEXTS, VAL_LABELS)
    student.save(tmp_path / "s")
    meta = json.loads((tmp_path / "s" / "student.json").read_text())
    assert meta["kind"] == "tfidf-logreg" and meta["labels"] == LABELS and meta["seed"] == 3
    assert meta["settings"]["C"] == 2.0 and meta["settings"]["min_df"] == 1  # defaults filled
    assert meta["fit"]["val_accuracy"] == 1.0
    loaded = load_student(tmp_path / "s")
    assert np.array_equal(loaded.predict_proba(HELD_OUT), student.predict_proba(HELD_OUT))


def test_tfidf_is_deterministic():
    a = tfidf(seed=5).fit(TEXTS, TARGETS).predict_proba(HELD_OUT)
    b = tfidf(seed=5).fit(TEXTS, TARGETS).predict_proba(HELD_OUT)
    assert np.array_equal(a, b)


def test_tfidf_single_class_always_predicts_it(tmp_path):
    student = tfidf().fit(POSITIVE, ["pos"] * len(POSITIVE))
    assert student.predict(HELD_OUT) == ["pos"] * len(HELD_OUT)
    np.testing.assert_array_equal(student.predict_proba(HELD_OUT), [[0.0, 1.0]] * len(HELD_OUT))
    student.save(tmp_path / "s")
    assert load_student(tmp_path / "s").predict(HELD_OUT[:1]) == ["pos"]


def test_tfidf_label_absent_from_training_gets_a_zero_column():
    student = make_student({"kind": "tfidf-logreg"}, ["neg", "neutral", "pos"], seed=0)
    proba = student.fit(TEXTS, TARGETS).predict_proba(HELD_OUT)
    assert proba.shape == (4, 3)
    assert (proba[:, 1] == 0).all()
    assert student.predict(HELD_OUT) == HELD_OUT_LABELS


def test_tfidf_soft_targets():
    # Soft targets that agree with the hard labels, one row missing (NaN -> one-hot).
    soft = np.array([[0.1, 0.9] if t == "pos" else [0.8, 0.2] for t in TARGETS])
    soft[0] = np.nan
    student = tfidf(targets="soft").fit(TEXTS, TARGETS, soft_targets=soft)
    assert student.predict(HELD_OUT) == HELD_OUT_LABELS
    hard = tfidf().fit(TEXTS, TARGETS).predict_proba(HELD_OUT)
    assert not np.allclose(student.predict_proba(HELD_OUT), hard)


def test_predict_proba_of_no_texts():
    assert tfidf().fit(TEXTS, TARGETS).predict_proba([]).shape == (0, 2)


# -- bad settings and inputs ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"kind": "svm"}, "tfidf-logreg"),
        ({"C": 1.0}, "kind"),
        ({"kind": "tfidf-logreg", "ngram": 2}, "ngram_max"),
        ({"kind": "tfidf-logreg", "C": -1}, "students.base.C"),
        ({"kind": "tfidf-logreg", "class_weight": "auto"}, "balanced"),
        ({"kind": "transformer", "epochs": 0}, "students.base.epochs"),
        ({"kind": "transformer", "epochs": True}, "integer"),
        ({"kind": "transformer", "lr": 1e-5}, "learning_rate"),
        ({"kind": "transformer", "select_by": "accuracy"}, "macro_f1"),
    ],
)
def test_bad_settings_name_the_key_and_what_is_valid(settings, named):
    with pytest.raises(LabelDistillError, match=named):
        make_student(settings, LABELS, seed=0, config_key="students.base")


def test_student_kinds():
    assert STUDENT_KINDS == ("tfidf-logreg", "transformer")


def test_a_label_outside_the_label_set_is_refused():
    with pytest.raises(LabelDistillError, match="'maybe' is not one of"):
        tfidf().fit(["a", "b"], ["pos", "maybe"])


def test_no_training_texts_is_refused():
    with pytest.raises(LabelDistillError, match="no training texts"):
        tfidf().fit([], [])


def test_load_student_needs_a_saved_student(tmp_path):
    with pytest.raises(LabelDistillError, match="student.json"):
        load_student(tmp_path)


def test_unknown_transformer_model_is_a_clear_error():
    student = make_student({**TINY_TRANSFORMER, "model": "no-such-org/no-such-model"}, LABELS, 0)
    with pytest.raises(LabelDistillError, match="model"):
        student.fit(TEXTS, TARGETS)


# -- transformer (MiniLM from its registry package) ----------------------------------------
@pytest.fixture(scope="module")
def minilm():
    """Three MiniLM students on the corpus: seed 1 twice, seed 2 once."""
    fitted = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        student = make_student(TINY_TRANSFORMER, LABELS, seed=seed, threads=2)
        fitted[name] = student.fit(TEXTS, TARGETS, VAL_TEXTS, VAL_LABELS)
    return fitted


def test_transformer_shapes_and_history(minilm):
    student = minilm["a"]
    proba = student.predict_proba(HELD_OUT + TEXTS)
    assert proba.shape == (len(HELD_OUT) + len(TEXTS), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert len(student.predict(HELD_OUT)) == len(HELD_OUT)
    history = student.fit_info["history"]
    assert [h["epoch"] for h in history] == [1, 2]
    assert all({"train_loss", "val_loss", "val_macro_f1", "seconds"} <= set(h) for h in history)


def test_transformer_keeps_the_best_epochs_weights(minilm):
    student = minilm["a"]
    history = student.fit_info["history"]
    best = history[student.fit_info["best_epoch"] - 1]
    assert best["val_macro_f1"] == max(h["val_macro_f1"] for h in history)
    # The weights in use are that epoch's: their validation loss is the one recorded for it.
    proba = student.predict_proba(VAL_TEXTS)
    y = np.array([LABELS.index(label) for label in VAL_LABELS])
    loss = -np.log(proba[np.arange(len(y)), y]).mean()
    assert loss == pytest.approx(best["val_loss"], abs=1e-5)


def test_transformer_seed_determinism(minilm):
    a, b, c = (minilm[k].predict_proba(HELD_OUT) for k in "abc")
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    assert np.abs(a - c).max() > 1e-4


def test_transformer_save_load_round_trip(minilm, tmp_path):
    minilm["a"].save(tmp_path / "s")
    names = {path.name for path in (tmp_path / "s").iterdir()}
    assert {"student.json", "config.json", "model.safetensors", "tokenizer.json"} <= names
    meta = json.loads((tmp_path / "s" / "student.json").read_text())
    assert meta["kind"] == "transformer" and meta["settings"]["max_length"] == 32
    loaded = load_student(tmp_path / "s", threads=2)
    assert loaded.labels == LABELS
    np.testing.assert_array_equal(loaded.predict_proba(HELD_OUT), minilm["a"].predict_proba(HELD_OUT))


def test_transformer_single_class_and_soft_targets():
    settings = {**TINY_TRANSFORMER, "epochs": 1, "learning_rate": 5e-4}
    single = make_student(settings, LABELS, seed=0, threads=2).fit(POSITIVE[:8], ["pos"] * 8)
    assert single.predict(HELD_OUT) == ["pos"] * len(HELD_OUT)
    soft = np.array([[0.3, 0.7]] * 4 + [[0.9, 0.1]] * 4)
    student = make_student({**settings, "targets": "soft"}, LABELS, seed=0, threads=2)
    student.fit(POSITIVE[:4] + NEGATIVE[:4], ["pos"] * 4 + ["neg"] * 4, soft_targets=soft)
    assert student.predict_proba(HELD_OUT).shape == (4, 2)
    assert student.fit_info["best_epoch"] == 1 and student.fit_info["n_val"] == 0
