"""Students: real models on tiny corpora (tf-idf + logistic regression, MiniLM fine-tuning, SetFit)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score
from torch.nn import functional as F

from labeldistill.errors import LabelDistillError
from labeldistill.students import STUDENT_KINDS, load_student, make_student
from labeldistill.students.tfidf_logreg import C_GRID, macro_f1
from labeldistill.students.transformer import ABSENT_BIAS, MeanPooledClassifier, TransformerStudent

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


def coefficients(student) -> np.ndarray:
    logreg = student.pipeline.named_steps["logreg"]
    return np.concatenate([logreg.coef_.ravel(), logreg.intercept_])


def test_tfidf_auto_chooses_C_and_ngram_max_by_cross_validation():
    student = tfidf(seed=4).fit(TEXTS, TARGETS)
    info = student.fit_info
    assert student.settings.C == "auto" and student.settings.ngram_max == "auto"
    assert info["C"] in C_GRID and info["ngram_max"] in (1, 2)
    cv = info["cv"]
    assert cv["folds"] == 5 and cv["score"] == "macro_f1" and cv["C_grid"] == list(C_GRID)
    assert set(cv["macro_f1"]) == {"1", "2"} and all(len(v) == len(C_GRID) for v in cv["macro_f1"].values())
    assert cv["best"] == max(max(v) for v in cv["macro_f1"].values())
    assert cv["macro_f1"][str(info["ngram_max"])][C_GRID.index(info["C"])] == cv["best"]
    # the refitted model is the chosen one
    assert student.pipeline.named_steps["logreg"].C == info["C"]
    assert student.pipeline.named_steps["tfidf"].ngram_range == (1, info["ngram_max"])
    assert student.predict(HELD_OUT) == HELD_OUT_LABELS


def test_macro_f1_is_scikit_learns():
    rng = np.random.default_rng(0)
    for classes in ([0, 1], [0, 1, 2]):
        y, predicted = rng.choice(classes, 40), rng.choice(classes, 40)
        predicted[y == classes[-1]] = 0  # a class never predicted right
        weights = rng.uniform(0, 2, 40)
        expected = f1_score(
            y, predicted, labels=classes, average="macro", sample_weight=weights, zero_division=0
        )
        assert macro_f1(y, predicted, np.array(classes), weights) == pytest.approx(expected)


def test_tfidf_cross_validation_uses_the_training_labels_only_and_the_seed():
    plain = tfidf(seed=4).fit(TEXTS, TARGETS)
    # A validation part with wrong labels does not change the choice or the model.
    wrong = ["neg" if label == "pos" else "pos" for label in VAL_LABELS]
    with_val = tfidf(seed=4).fit(TEXTS, TARGETS, VAL_TEXTS, wrong)
    assert with_val.fit_info["cv"] == {**plain.fit_info["cv"], "seconds": with_val.fit_info["cv"]["seconds"]}
    np.testing.assert_array_equal(coefficients(with_val), coefficients(plain))
    # The seed draws the folds.
    scores = {seed: tfidf(seed=seed).fit(TEXTS, TARGETS).fit_info["cv"]["macro_f1"] for seed in (4, 5)}
    assert scores[4] != scores[5]


def test_tfidf_numbers_fix_C_and_ngram_max_without_cross_validation():
    student = tfidf(C=2.0, ngram_max=1).fit(TEXTS, TARGETS)
    assert "cv" not in student.fit_info
    assert student.fit_info["C"] == 2.0 and student.fit_info["ngram_max"] == 1
    assert student.pipeline.named_steps["logreg"].C == 2.0
    only_c = tfidf(ngram_max=1).fit(TEXTS, TARGETS).fit_info["cv"]
    assert set(only_c["macro_f1"]) == {"1"}


def test_tfidf_few_texts_of_a_label_mean_fewer_folds_or_the_fallback(caplog):
    texts, labels = POSITIVE + NEGATIVE[:3], ["pos"] * 12 + ["neg"] * 3
    with caplog.at_level(logging.WARNING):
        student = tfidf().fit(texts, labels)
    assert student.fit_info["cv"]["folds"] == 3
    assert "cross-validating with 3 folds, not 5" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        student = tfidf(ngram_max=1).fit(POSITIVE + NEGATIVE[:1], ["pos"] * 12 + ["neg"])
    assert student.fit_info["cv"] == {"folds": 0, "fallback": True}
    assert student.fit_info["C"] == 1.0 and student.fit_info["ngram_max"] == 1
    assert "label 'neg' has 1 training text(s), too few to cross-validate" in caplog.text


def test_tfidf_soft_targets_cross_validate_by_text():
    # One-hot soft targets are the hard labels: the folds (drawn over texts, not over the
    # repeated rows) and every score are the same.
    one_hot = np.array([[0.0, 1.0] if t == "pos" else [1.0, 0.0] for t in TARGETS])
    soft = tfidf(seed=2, targets="soft").fit(TEXTS, TARGETS, soft_targets=one_hot)
    hard = tfidf(seed=2).fit(TEXTS, TARGETS)
    assert soft.fit_info["cv"]["macro_f1"] == hard.fit_info["cv"]["macro_f1"]
    np.testing.assert_allclose(coefficients(soft), coefficients(hard))
    # Real soft targets: two rows per text, still 5 folds over the 24 texts.
    mixed = np.array([[0.3, 0.7] if t == "pos" else [0.6, 0.4] for t in TARGETS])
    student = tfidf(seed=2, targets="soft").fit(TEXTS, TARGETS, soft_targets=mixed)
    assert student.fit_info["cv"]["folds"] == 5 and student.predict(HELD_OUT) == HELD_OUT_LABELS


# -- sample weights -------------------------------------------------------------------------
WEIGHTS = np.linspace(0.2, 1.0, len(TEXTS))


@pytest.mark.parametrize("settings", [{}, {"C": 3.0, "ngram_max": 1}, {"targets": "soft"}])
def test_tfidf_weights_of_one_are_no_weights(settings):
    plain = tfidf(seed=1, **settings).fit(TEXTS, TARGETS)
    ones = tfidf(seed=1, **settings).fit(TEXTS, TARGETS, sample_weight=np.ones(len(TEXTS)))
    np.testing.assert_array_equal(coefficients(ones), coefficients(plain))
    # Weights are relative: scaling them all changes nothing.
    scaled = tfidf(seed=1, **settings).fit(TEXTS, TARGETS, sample_weight=np.full(len(TEXTS), 0.3))
    np.testing.assert_allclose(coefficients(scaled), coefficients(plain), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("settings", [{}, {"C": 3.0, "ngram_max": 1}])
def test_tfidf_zero_weight_is_leaving_the_text_out(settings):
    dropped = [0, 5, 13, 20]  # 2 pos, 2 neg
    weights = WEIGHTS.copy()
    weights[dropped] = 0.0
    kept = [i for i in range(len(TEXTS)) if i not in dropped]
    zero = tfidf(seed=1, **settings).fit(TEXTS, TARGETS, sample_weight=weights)
    without = tfidf(seed=1, **settings).fit(
        [TEXTS[i] for i in kept], [TARGETS[i] for i in kept], sample_weight=weights[kept]
    )
    assert zero.fit_info["C"] == without.fit_info["C"]
    np.testing.assert_allclose(coefficients(zero), coefficients(without), rtol=1e-6, atol=1e-9)
    assert zero.fit_info["n_train"] == 20 and zero.fit_info["sample_weight"]["n_zero"] == 4


def test_tfidf_weights_change_the_model_and_the_cross_validation():
    plain = tfidf(seed=1, ngram_max=1).fit(TEXTS, TARGETS)
    weighted = tfidf(seed=1, ngram_max=1).fit(TEXTS, TARGETS, sample_weight=WEIGHTS)
    assert weighted.fit_info["cv"]["macro_f1"] != plain.fit_info["cv"]["macro_f1"]
    fixed = {"C": 3.0, "ngram_max": 1}
    a = tfidf(seed=1, **fixed).fit(TEXTS, TARGETS)
    b = tfidf(seed=1, **fixed).fit(TEXTS, TARGETS, sample_weight=WEIGHTS)
    assert not np.allclose(coefficients(a), coefficients(b))
    # with soft targets the weights multiply the per-label rows
    soft = np.array([[0.2, 0.8] if t == "pos" else [0.7, 0.3] for t in TARGETS])
    c = tfidf(seed=1, targets="soft", **fixed).fit(TEXTS, TARGETS, soft_targets=soft)
    d = tfidf(seed=1, targets="soft", **fixed).fit(TEXTS, TARGETS, soft_targets=soft, sample_weight=WEIGHTS)
    assert not np.allclose(coefficients(c), coefficients(d))


@pytest.mark.parametrize("kind", STUDENT_KINDS)
@pytest.mark.parametrize(
    ("weights", "named"),
    [
        (np.ones(3), r"shape \(3,\), expected \(24,\)"),
        (np.r_[np.ones(23), -1.0], r"row 23: -1.0 is not valid \(expected a finite number >= 0\)"),
        (np.r_[np.nan, np.ones(23)], "row 0: nan is not valid"),
        (np.r_[np.ones(23), np.inf], "row 23: inf is not valid"),
        (np.zeros(24), "every weight is 0"),
        (["a"] * 24, "not an array of numbers"),
    ],
)
def test_bad_sample_weights_are_refused(kind, weights, named):
    student = make_student(
        {**TINY_TRANSFORMER, "kind": kind} if kind == "transformer" else {"kind": kind}, LABELS, 0
    )
    with pytest.raises(LabelDistillError, match=named):
        student.fit(TEXTS, TARGETS, sample_weight=weights)


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
        ({"kind": "tfidf-logreg", "C": "tuned"}, r'expected "auto" or a number > 0'),
        ({"kind": "tfidf-logreg", "ngram_max": 0}, r'students.base.ngram_max: 0 .*"auto" or an integer >= 1'),
        ({"kind": "tfidf-logreg", "cv_folds": 1}, r"students.base.cv_folds: 1 .*an integer >= 2"),
        ({"kind": "tfidf-logreg", "class_weight": "auto"}, "balanced"),
        ({"kind": "transformer", "epochs": 0}, "students.base.epochs"),
        ({"kind": "transformer", "epochs": True}, "integer"),
        ({"kind": "transformer", "lr": 1e-5}, "learning_rate"),
        ({"kind": "transformer", "select_by": "accuracy"}, "macro_f1"),
        ({"kind": "transformer", "inference_dtype": "float16"}, r"inference_dtype.*\['float32', 'int8'\]"),
        ({"kind": "transformer", "pooling": "cls"}, r"students.base.head_init: probe needs pooling: mean"),
        ({"kind": "transformer", "pooling": "max"}, r"pooling.*\['mean', 'cls'\]"),
        ({"kind": "setfit", "num_iterations": 0}, r"students.base.num_iterations: 0 .*an integer >= 1"),
        ({"kind": "setfit", "targets": "soft"}, r"unknown setting for a 'setfit' student"),
    ],
)
def test_bad_settings_name_the_key_and_what_is_valid(settings, named):
    with pytest.raises(LabelDistillError, match=named):
        make_student(settings, LABELS, seed=0, config_key="students.base")


def test_student_kinds():
    assert STUDENT_KINDS == ("tfidf-logreg", "transformer", "setfit")


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
    student = make_student(TINY_TRANSFORMER, LABELS, seed=1, threads=2)
    fitted["ones"] = student.fit(TEXTS, TARGETS, VAL_TEXTS, VAL_LABELS, sample_weight=np.ones(len(TEXTS)))
    return fitted


def test_transformer_shapes_and_history(minilm):
    student = minilm["a"]
    proba = student.predict_proba(HELD_OUT + TEXTS)
    assert proba.shape == (len(HELD_OUT) + len(TEXTS), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert len(student.predict(HELD_OUT)) == len(HELD_OUT)
    history = student.fit_info["history"]
    assert [h["epoch"] for h in history] == [0, 1, 2]  # 0: the probed head before fine-tuning
    assert set(history[0]) == {"epoch", "val_loss", "val_macro_f1"}
    assert all({"train_loss", "val_loss", "val_macro_f1", "seconds"} <= set(h) for h in history[1:])
    assert student.fit_info["epochs_run"] == 2


def test_transformer_keeps_the_best_epochs_weights(minilm):
    student = minilm["a"]
    history = student.fit_info["history"]
    (best,) = [h for h in history if h["epoch"] == student.fit_info["best_epoch"]]
    assert best["val_macro_f1"] == max(h["val_macro_f1"] for h in history)
    # The weights in use are that epoch's: their validation loss is the one recorded for it.
    proba = student.predict_proba(VAL_TEXTS)
    y = np.array([LABELS.index(label) for label in VAL_LABELS])
    loss = -np.log(proba[np.arange(len(y)), y]).mean()
    assert loss == pytest.approx(best["val_loss"], abs=1e-5)


def test_transformer_weights_of_one_are_no_weights(minilm):
    np.testing.assert_array_equal(minilm["ones"].predict_proba(HELD_OUT), minilm["a"].predict_proba(HELD_OUT))

    def timeless(history):
        return [{k: v for k, v in h.items() if k != "seconds"} for h in history]

    assert timeless(minilm["ones"].fit_info["history"]) == timeless(minilm["a"].fit_info["history"])


@pytest.mark.parametrize("class_weights", [None, torch.tensor([2.0, 0.5])])
def test_transformer_loss_is_the_weighted_mean(class_weights):
    logits = torch.tensor([[0.2, -0.1], [1.0, 0.3], [-0.5, 0.4], [0.0, 0.9]])
    hard = torch.tensor([0, 1, 1, 0])
    soft = torch.tensor([[0.8, 0.2], [0.1, 0.9], [0.5, 0.5], [1.0, 0.0]])
    for targets in (hard, soft):
        # weights of one: torch's own mean (with class weights: its weighted mean)
        ones = TransformerStudent._loss(logits, targets, torch.ones(4), class_weights)
        torch.testing.assert_close(ones, F.cross_entropy(logits, targets, weight=class_weights))
        # weight 2 on a text is that text twice in the batch
        twice = TransformerStudent._loss(logits, targets, torch.tensor([2.0, 1, 1, 1]), class_weights)
        rows = torch.tensor([0, 0, 1, 2, 3])
        torch.testing.assert_close(twice, F.cross_entropy(logits[rows], targets[rows], weight=class_weights))


def test_transformer_zero_weight_is_leaving_the_text_out():
    settings = {**TINY_TRANSFORMER, "epochs": 1, "max_length": 16, "class_weight": "balanced"}
    texts, labels = POSITIVE[:5] + NEGATIVE[:5], ["pos"] * 5 + ["neg"] * 5
    weights = np.array([0.5, 0.0, 1.0, 1.0, 0.8, 1.0, 0.3, 0.0, 1.0, 1.0])
    kept = np.flatnonzero(weights > 0)
    zero = make_student(settings, LABELS, seed=3, threads=2).fit(texts, labels, sample_weight=weights)
    without = make_student(settings, LABELS, seed=3, threads=2).fit(
        [texts[i] for i in kept], [labels[i] for i in kept], sample_weight=weights[kept]
    )
    np.testing.assert_array_equal(zero.predict_proba(HELD_OUT), without.predict_proba(HELD_OUT))
    assert zero.fit_info["n_train"] == 8 and zero.fit_info["sample_weight"]["n_zero"] == 2


def test_transformer_seed_determinism(minilm):
    a, b, c = (minilm[k].predict_proba(HELD_OUT) for k in "abc")
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    assert np.abs(a - c).max() > 1e-4


def test_transformer_save_load_round_trip(minilm, tmp_path):
    minilm["a"].save(tmp_path / "s")
    names = {path.name for path in (tmp_path / "s").iterdir()}
    assert {
        "student.json",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "modeling_labeldistill.py",
    } <= names
    assert "head.pt" not in names  # the head is in model.safetensors, with the encoder
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


def test_transformer_probe_is_a_logistic_regression_on_the_embeddings():
    from sklearn.linear_model import LogisticRegression

    labels = ["neg", "neutral", "pos"]  # "neutral" has no training text: probability 0
    for student_labels, expected_columns in ((LABELS, [0, 1]), (labels, [0, 2])):
        student = make_student(TINY_TRANSFORMER, student_labels, seed=0, threads=2)
        y = student.label_indices(TARGETS)
        tokenizer, model = student._pretrained()
        assert isinstance(model, MeanPooledClassifier)
        weights = np.linspace(0.5, 1.5, len(TEXTS))
        info = student._probe(model, tokenizer, TEXTS, y, weights)
        assert info["C"] == 3.0 and info["train_accuracy"] == 1.0
        features = student._embeddings(model, tokenizer, HELD_OUT)
        assert features.shape == (4, 384)
        np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, rtol=1e-5)
        expected = LogisticRegression(C=3.0, max_iter=1000).fit(
            student._embeddings(model, tokenizer, TEXTS), y, sample_weight=weights
        )
        proba = student._proba(model, tokenizer, HELD_OUT)
        np.testing.assert_allclose(proba[:, expected_columns], expected.predict_proba(features), atol=1e-5)
        if len(student_labels) == 3:
            assert (proba[:, 1] < 1e-30).all() and model.classifier.bias[1] == ABSENT_BIAS


def test_transformer_keeps_the_probe_when_fine_tuning_does_worse():
    # A learning rate of 1 wrecks the encoder in one epoch: the probe (epoch 0) stays best.
    settings = {**TINY_TRANSFORMER, "epochs": 1, "learning_rate": 1.0}
    student = make_student(settings, LABELS, seed=0, threads=2).fit(TEXTS, TARGETS, VAL_TEXTS, VAL_LABELS)
    history = student.fit_info["history"]
    assert student.fit_info["best_epoch"] == 0 and history[1]["val_loss"] > history[0]["val_loss"]
    probe = make_student(settings, LABELS, seed=0, threads=2)
    tokenizer, model = probe._pretrained()
    probe._probe(model, tokenizer, TEXTS, probe.label_indices(TARGETS), np.ones(len(TEXTS)))
    np.testing.assert_allclose(
        student.predict_proba(HELD_OUT), probe._proba(model, tokenizer, HELD_OUT), rtol=0, atol=1e-6
    )
    assert student.predict(HELD_OUT) == HELD_OUT_LABELS


def test_transformer_cls_pooling_and_students_saved_before_pooling_existed(tmp_path):
    settings = {**TINY_TRANSFORMER, "epochs": 1, "pooling": "cls", "head_init": "random"}
    student = make_student(settings, LABELS, seed=0, threads=2).fit(TEXTS, TARGETS, VAL_TEXTS, VAL_LABELS)
    assert not isinstance(student.model, MeanPooledClassifier)
    assert "probe" not in student.fit_info and student.fit_info["history"][0]["epoch"] == 1
    student.save(tmp_path / "s")
    assert not (tmp_path / "s" / "head.pt").exists()
    meta_path = tmp_path / "s" / "student.json"
    meta = json.loads(meta_path.read_text())
    for key in ("pooling", "head_init", "probe_C"):
        del meta["settings"][key]
    meta_path.write_text(json.dumps(meta))
    loaded = load_student(tmp_path / "s", threads=2)
    assert loaded.settings.pooling == "cls" and loaded.settings.head_init == "random"
    np.testing.assert_array_equal(loaded.predict_proba(HELD_OUT), student.predict_proba(HELD_OUT))


# -- transformer prediction: batching, order, int8 -------------------------------------------
# Texts of very different token counts, in no order of length, some repeated.
MIXED = [
    HELD_OUT[1],
    TEXTS[0] + " " + TEXTS[5] + " " + TEXTS[13],
    "ok",
    *HELD_OUT,
    TEXTS[7],
    "",
    TEXTS[2] + ", " + TEXTS[20],
    "ok",
]


def test_transformer_batched_is_one_text_at_a_time(minilm):
    student = minilm["a"]
    batched = student.predict_proba(MIXED)
    single = np.vstack([student.predict_proba([text]) for text in MIXED])
    np.testing.assert_allclose(batched, single, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(batched[2], batched[-1])  # the same text, the same row


@pytest.mark.parametrize("eval_batch_size", [1, 3, 64])
def test_transformer_keeps_the_order_whatever_the_batches(minilm, eval_batch_size):
    student = make_student(
        {**TINY_TRANSFORMER, "eval_batch_size": eval_batch_size}, LABELS, seed=1, threads=2
    )
    student.model, student.tokenizer = minilm["a"].model, minilm["a"].tokenizer
    proba = student.predict_proba(MIXED)
    order = np.random.default_rng(0).permutation(len(MIXED))
    shuffled = student.predict_proba([MIXED[i] for i in order])
    np.testing.assert_allclose(shuffled, proba[order], rtol=0, atol=1e-6)
    np.testing.assert_allclose(proba, minilm["a"].predict_proba(MIXED), rtol=0, atol=1e-6)


@pytest.mark.parametrize("side", ["right", "left"])
def test_transformer_pads_each_batch_as_the_tokenizer_does(minilm, side):
    tokenizer = minilm["a"].tokenizer
    texts = [MIXED[1], MIXED[2], MIXED[3]]
    old, tokenizer.padding_side = tokenizer.padding_side, side
    try:
        expected = tokenizer(texts, padding=True, truncation=True, max_length=32, return_tensors="pt")
        encoded = tokenizer(texts, truncation=True, max_length=32)
        width = max(len(ids) for ids in encoded["input_ids"])
        padded = TransformerStudent._pad(tokenizer, encoded, np.arange(3), width, torch.device("cpu"))
    finally:
        tokenizer.padding_side = old
    assert set(padded) == set(expected)
    for key, value in expected.items():
        torch.testing.assert_close(padded[key], value, msg=key)


def int8_student(fitted: TransformerStudent) -> TransformerStudent:
    student = make_student({**TINY_TRANSFORMER, "inference_dtype": "int8"}, LABELS, seed=1, threads=2)
    student.model, student.tokenizer = fitted.model, fitted.tokenizer
    return student


def test_transformer_int8_mostly_agrees_with_float32(minilm):
    texts = HELD_OUT + TEXTS + MIXED
    float32 = minilm["a"].predict_proba(texts)
    student = int8_student(minilm["a"])
    int8 = student.predict_proba(texts)
    assert np.mean(int8.argmax(axis=1) == float32.argmax(axis=1)) >= 0.9
    # The clear texts move little; MIXED's concatenations of opposite texts sit near the
    # boundary, where this tiny model's probabilities moved up to 0.22.
    clear = len(HELD_OUT) + len(TEXTS)
    assert np.abs(int8 - float32)[:clear].max() < 0.05
    np.testing.assert_allclose(int8.sum(axis=1), 1.0, rtol=1e-5)
    # the Linear layers of a copy are quantised; the float model is left as it was
    model = student._inference_model()
    assert model is not student.model and model is student._inference_model()
    assert not any(type(m) is torch.nn.Linear for m in model.modules())
    assert any(type(m) is torch.nn.Linear for m in student.model.modules())
    np.testing.assert_array_equal(minilm["a"].predict_proba(texts), float32)


def test_transformer_int8_copy_follows_a_new_model(minilm):
    student = int8_student(minilm["a"])
    first = student.predict_proba(HELD_OUT)
    student.model = minilm["c"].model
    second = student.predict_proba(HELD_OUT)
    assert np.abs(first - second).max() > 1e-4
    np.testing.assert_allclose(second, int8_student(minilm["c"]).predict_proba(HELD_OUT), rtol=0, atol=1e-6)


def test_transformer_int8_setting_survives_save_and_load(minilm, tmp_path):
    int8_student(minilm["a"]).save(tmp_path / "s")
    loaded = load_student(tmp_path / "s", threads=2)
    assert loaded.settings.inference_dtype == "int8"
    np.testing.assert_allclose(
        loaded.predict_proba(HELD_OUT), int8_student(minilm["a"]).predict_proba(HELD_OUT), rtol=0, atol=1e-6
    )


# -- setfit (the same MiniLM as a sentence-transformer) --------------------------------------
TINY_SETFIT = {"kind": "setfit", "num_iterations": 1, "max_length": 32}


@pytest.fixture(scope="module")
def setfit_students():
    """Three SetFit students on the corpus: seed 1 twice, seed 2 once."""
    fitted = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        student = make_student(TINY_SETFIT, LABELS, seed=seed, threads=2)
        fitted[name] = student.fit(TEXTS, TARGETS, VAL_TEXTS, VAL_LABELS)
    return fitted


def test_setfit_learns_the_corpus(setfit_students):
    student = setfit_students["a"]
    proba = student.predict_proba(HELD_OUT + TEXTS)
    assert proba.shape == (len(HELD_OUT) + len(TEXTS), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert student.predict(HELD_OUT) == HELD_OUT_LABELS
    assert student.predict(TEXTS) == TARGETS
    info = student.fit_info
    assert info["n_pairs"] == 2 * len(TEXTS) and info["train_accuracy"] == 1.0
    assert info["n_val"] == len(VAL_TEXTS) and info["val_macro_f1"] == 1.0
    assert student.predict_proba([]).shape == (0, 2)


def test_setfit_seed_determinism(setfit_students):
    a, b, c = (setfit_students[k].predict_proba(HELD_OUT) for k in "abc")
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    assert np.abs(a - c).max() > 1e-4


def test_setfit_save_load_round_trip(setfit_students, tmp_path):
    setfit_students["a"].save(tmp_path / "s")
    names = {path.name for path in (tmp_path / "s").iterdir()}
    assert {"student.json", "model_head.pkl", "modules.json", "model.safetensors"} <= names
    meta = json.loads((tmp_path / "s" / "student.json").read_text())
    assert meta["kind"] == "setfit" and meta["seed"] == 1 and meta["settings"]["max_length"] == 32
    assert meta["settings"]["C"] == 1.0  # defaults filled
    loaded = load_student(tmp_path / "s", threads=2)
    assert loaded.labels == LABELS
    np.testing.assert_array_equal(loaded.predict_proba(MIXED), setfit_students["a"].predict_proba(MIXED))


def test_setfit_absent_label_single_label_and_zero_weights(tmp_path):
    three = make_student(TINY_SETFIT, ["neg", "neutral", "pos"], seed=0, threads=2).fit(TEXTS, TARGETS)
    proba = three.predict_proba(HELD_OUT)
    assert proba.shape == (4, 3) and (proba[:, 1] == 0).all()
    assert three.predict(HELD_OUT) == HELD_OUT_LABELS

    single = make_student(TINY_SETFIT, LABELS, seed=0, threads=2).fit(POSITIVE[:4], ["pos"] * 4)
    assert single.predict(HELD_OUT) == ["pos"] * len(HELD_OUT)
    single.save(tmp_path / "single")
    assert load_student(tmp_path / "single").predict(HELD_OUT) == ["pos"] * len(HELD_OUT)

    texts, labels = POSITIVE[:4] + NEGATIVE[:4], ["pos"] * 4 + ["neg"] * 4
    weights = np.array([1.0, 0.0, 0.5, 1.0, 1.0, 2.0, 0.0, 1.0])
    kept = np.flatnonzero(weights > 0)
    zero = make_student(TINY_SETFIT, LABELS, seed=3, threads=2).fit(texts, labels, sample_weight=weights)
    without = make_student(TINY_SETFIT, LABELS, seed=3, threads=2).fit(
        [texts[i] for i in kept], [labels[i] for i in kept], sample_weight=weights[kept]
    )
    np.testing.assert_array_equal(zero.predict_proba(HELD_OUT), without.predict_proba(HELD_OUT))
    assert zero.fit_info["n_train"] == 6 and zero.fit_info["n_pairs"] == 12
