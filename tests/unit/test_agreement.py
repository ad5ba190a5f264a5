"""Agreement coefficients and the agreement stage on real parquet files."""

from __future__ import annotations

import json
import math

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from labeldistill.agreement import coders_alpha, cohen_kappa, krippendorff_alpha_nominal
from labeldistill.contracts import LABELS, SPLIT, write_table
from labeldistill.errors import LabelDistillError
from labeldistill.stages import agreement as stage

LABEL_SET = ["negative", "other"]


# ---- Cohen's kappa ---------------------------------------------------------------------
def test_kappa_hand_computed():
    # 2x2: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> po 0.7, pe 0.5, kappa 0.4
    a = ["y"] * 20 + ["y"] * 5 + ["n"] * 10 + ["n"] * 15
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_kappa_perfect_matches_sklearn_and_drops_missing():
    assert cohen_kappa(["a", "b", "a"], ["a", "b", "a"]) == 1.0
    rng = np.random.default_rng(0)
    a = rng.choice(["a", "b", "c"], 80).tolist()
    b = [x if rng.random() < 0.6 else "c" for x in a]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert cohen_kappa(a + ["a", "b"], b + [None, float("nan")]) == pytest.approx(cohen_kappa_score(a, b))


def test_kappa_undefined_when_one_category():
    assert math.isnan(cohen_kappa(["a", "a"], ["a", "a"]))
    assert math.isnan(cohen_kappa(["a"], [None]))


# ---- Krippendorff's alpha --------------------------------------------------------------
def test_alpha_hand_computed():
    # units (a,a) (a,b) (b,b) (b,b): o = [[2,1],[1,4]], n_a 3, n_b 5, n 8
    # alpha = 1 - (n-1) * 2 / (2 * 3 * 5) = 1 - 14/30
    units = [1, 1, 2, 2, 3, 3, 4, 4]
    values = ["a", "a", "a", "b", "b", "b", "b", "b"]
    assert krippendorff_alpha_nominal(units, values) == pytest.approx(1 - 14 / 30)


def test_alpha_perfect_and_undefined():
    assert krippendorff_alpha_nominal([1, 1, 2, 2], ["a", "a", "b", "b"]) == 1.0
    assert math.isnan(krippendorff_alpha_nominal([1, 1, 2, 2], ["a", "a", "a", "a"]))
    assert math.isnan(krippendorff_alpha_nominal([1, 2], ["a", "b"]))  # nothing pairable


def test_alpha_matches_krippendorff_package_with_missing_values():
    rng = np.random.default_rng(1)
    data = rng.integers(0, 3, size=(4, 40)).astype(float)
    data[1] = np.where(rng.random(40) < 0.7, data[0], data[1])  # some real agreement
    data[rng.random(data.shape) < 0.25] = np.nan
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    units, values = [], []
    for coder in range(4):
        for unit in range(40):
            units.append(unit)
            values.append(None if np.isnan(data[coder, unit]) else str(int(data[coder, unit])))
    assert krippendorff_alpha_nominal(units, values) == pytest.approx(expected)


def test_coders_alpha_long_form_with_varying_coders():
    coder = pd.DataFrame(
        {
            "id": ["t1", "t1", "t1", "t2", "t2", "t3", "t4", "t4", "x"],
            "coder": ["A", "B", "C", "A", "B", "A", "B", "C", "A"],
            "label": ["pos", "pos", "neg", "neg", "neg", "pos", "pos", "pos", "neg"],
        }
    )
    summary = coders_alpha(coder, ids=["t1", "t2", "t3", "t4"])
    matrix = np.array(  # coders x units, t1..t4; "x" is outside the ids
        [[1, 0, 1, np.nan], [1, 0, np.nan, 1], [0, np.nan, np.nan, 1]], dtype=float
    )
    assert summary["alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    )
    assert summary["n_texts"] == 4 and summary["n_pairable_texts"] == 3
    assert summary["n_coders_median"] == 2.0


# ---- the stage -------------------------------------------------------------------------
def _write_val(tmp_path, llm_labels, probabilities=None):
    ids = [f"t{i}" for i in range(len(llm_labels))]
    gold = ["negative", "negative", "other", "other", "other", "negative"][: len(ids)]
    split = tmp_path / "val.parquet"
    write_table(
        pd.DataFrame({"id": ids, "text": ["some text"] * len(ids), "label": gold}),
        split,
        SPLIT,
        labels=LABEL_SET,
    )
    labels = tmp_path / "gemma_val.parquet"
    write_table(
        pd.DataFrame(
            {
                "id": ids[::-1],
                "label": llm_labels[::-1],
                "probabilities": (probabilities or [None] * len(ids))[::-1],
                "error": [None if x else "no answer" for x in llm_labels[::-1]],
                "labeler": "gemma",
                "backend": "local",
                "model": "m",
                "prompt_hash": "h",
            }
        ),
        labels,
        LABELS,
        labels=LABEL_SET,
    )
    return split, labels, gold


def test_agreement_stage_values(tmp_path):
    llm = ["negative", "other", "other", "negative", "other", None]
    probs = [[0.9, 0.1], [0.3, 0.7], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5], None]
    split, labels, gold = _write_val(tmp_path, llm, probs)
    coders = tmp_path / "coders.csv"
    pd.DataFrame(
        {
            "id": ["t0", "t0", "t1", "t1", "t2", "t2", "t3", "t5", "t5", "zz", "zz"],
            "coder": ["A", "B", "A", "B", "A", "B", "A", "A", "C", "A", "B"],
            "label": [
                "negative",
                "negative",
                "negative",
                "other",
                "other",
                "other",
                "other",
                "negative",
                "negative",
                "other",
                "negative",
            ],
        }
    ).to_csv(coders, index=False)
    out = tmp_path / "agreement" / "gemma.json"
    stage.run(split, labels, coders, LABEL_SET, "negative", {"task": "t", "labeler": "gemma"}, out)
    result = json.loads(out.read_text())
    # gold  neg neg oth oth oth neg ; llm neg oth oth neg oth (failed)
    assert result["task"] == "t" and result["labeler"] == "gemma"
    assert (result["n"], result["n_failed"], result["n_labelled"]) == (6, 1, 5)
    assert result["accuracy"] == pytest.approx(3 / 6)
    assert result["precision"] == pytest.approx(1 / 2)
    assert result["recall"] == pytest.approx(1 / 3)
    assert result["f1"] == pytest.approx(2 * 1 / (3 + 2))
    labelled_gold, labelled_llm = gold[:5], llm[:5]
    assert result["cohen_kappa"] == pytest.approx(cohen_kappa_score(labelled_gold, labelled_llm))
    codes = {"negative": 0, "other": 1}
    matrix = np.array(
        [[codes[g] for g in gold], [np.nan if x is None else codes[x] for x in llm]], dtype=float
    )
    assert result["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    )
    assert result["mean_label_probability"] == pytest.approx(np.mean([0.9, 0.7, 0.8, 0.6, 0.5]))
    # humans over val ids t0..t5 only: units t0 (agree), t1 (disagree), t2 (agree), t5 (agree)
    human = np.array(
        [
            [0, 0, 1, 1, np.nan, 0],
            [0, 1, 1, np.nan, np.nan, np.nan],
            [np.nan, np.nan, np.nan, np.nan, np.nan, 0],
        ],
        dtype=float,
    )
    assert result["human_human_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=human, level_of_measurement="nominal")
    )
    assert result["n_coders_median"] == 2.0 and result["n_coded_texts"] == 5


def test_agreement_stage_without_coders_writes_nulls(tmp_path):
    split, labels, _ = _write_val(tmp_path, ["negative", "negative", "other", "other"])
    out = tmp_path / "a.json"
    stage.run(split, labels, None, LABEL_SET, "negative", {"task": "t", "labeler": "gemma"}, out)
    result = json.loads(out.read_text())
    assert result["accuracy"] == 1.0 and result["cohen_kappa"] == 1.0
    assert result["krippendorff_alpha"] == 1.0
    assert result["human_human_alpha"] is None and result["mean_label_probability"] is None


def test_agreement_stage_errors_name_the_file(tmp_path):
    split, labels, _ = _write_val(tmp_path, ["negative", "other", "other"])
    # a val text without an LLM row
    write_table(
        pd.DataFrame(
            {"id": ["t0", "t1", "t2", "t9"], "text": "x", "label": ["negative", "other", "other", "other"]}
        ),
        split,
        SPLIT,
        labels=LABEL_SET,
    )
    with pytest.raises(LabelDistillError, match="gemma_val.parquet.*t9"):
        stage.run(
            split, labels, None, LABEL_SET, "negative", {"task": "t", "labeler": "g"}, tmp_path / "a.json"
        )
    with pytest.raises(LabelDistillError, match="positive label"):
        stage.run(split, labels, None, LABEL_SET, "bogus", {}, tmp_path / "a.json")


def test_agreement_stage_rejects_unknown_llm_label(tmp_path):
    split, labels, _ = _write_val(tmp_path, ["negative", "maybe", "other"])
    with pytest.raises(LabelDistillError, match="'maybe' is not one of"):
        stage.run(split, labels, None, LABEL_SET, "negative", {}, tmp_path / "a.json")


def test_agreement_stage_rejects_coder_labelling_twice(tmp_path):
    split, labels, _ = _write_val(tmp_path, ["negative", "other", "other"])
    coders = tmp_path / "coders.csv"
    pd.DataFrame({"id": ["t0", "t0"], "coder": ["A", "A"], "label": ["negative", "other"]}).to_csv(
        coders, index=False
    )
    with pytest.raises(LabelDistillError, match="coders.csv.*'A'.*'t0'"):
        stage.run(split, labels, coders, LABEL_SET, "negative", {}, tmp_path / "a.json")
