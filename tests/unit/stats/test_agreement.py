"""Agreement coefficients and the agreement stage on real parquet files."""

from __future__ import annotations

import json
import math

import krippendorff
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score, f1_score
from three_label_data import GOLD3, LABELS3, PRED3

from labeldistill.contracts import DISAGREEMENTS, LABELS, SPLIT, read_table, table_metadata, write_table
from labeldistill.errors import LabelDistillError
from labeldistill.stages import agreement as stage
from labeldistill.stats.agreement import (
    coders_alpha,
    cohen_kappa,
    consistency_figures,
    krippendorff_alpha_nominal,
)
from labeldistill.stats.metrics import positive_rates

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
# ---- positive rates and consistency ----------------------------------------------------
def test_positive_rates_count_failed_texts_in_the_denominator():
    rates = positive_rates(["neg", "neg", "oth", "oth"], ["neg", None, "neg", "oth"], "neg")
    assert rates == {"positive_rate": 0.5, "human_positive_rate": 0.5}
    assert math.isnan(positive_rates([], [], "neg")["positive_rate"])


def test_consistency_levels_and_bins():
    gold = ["a", "a", "b", "b", "a", "b"]
    llm = ["a", "b", "b", None, "a", "a"]
    figures = consistency_figures(gold, llm, [1.0, 0.6, 1.0, 0.6, 0.8, float("nan")])
    # labelled with a consistency: texts 0, 1, 2, 4 (3 failed, 5 has none)
    assert figures["mean_consistency"] == pytest.approx((1.0 + 0.6 + 1.0 + 0.8) / 4)
    assert figures["share_consistency_1"] == 0.5
    assert figures["accuracy_by_consistency"] == [
        {"level": "0.6", "low": 0.6, "high": 0.6, "n": 1, "accuracy": 0.0},
        {"level": "0.8", "low": 0.8, "high": 0.8, "n": 1, "accuracy": 1.0},
        {"level": "1", "low": 1.0, "high": 1.0, "n": 2, "accuracy": 1.0},
    ]
    values = [0.51, 0.55, 0.62, 0.68, 0.71, 0.93, 0.97, 1.0, 1.0]
    binned = consistency_figures(["a"] * 9, ["a"] * 8 + ["b"], values)["accuracy_by_consistency"]
    assert [(b["level"], b["n"], b["accuracy"]) for b in binned] == [
        ("[0.5, 0.6)", 2, 1.0),
        ("[0.6, 0.7)", 2, 1.0),
        ("[0.7, 0.8)", 1, 1.0),
        ("[0.9, 1)", 2, 1.0),
        ("1", 2, 0.5),
    ]
    none = consistency_figures(["a", "b"], ["a", "b"], [None, None])
    assert math.isnan(none["mean_consistency"]) and none["accuracy_by_consistency"] == []


def _write_val(tmp_path, llm_labels, probabilities=None, consistency=None):
    ids = [f"t{i}" for i in range(len(llm_labels))]
    gold = ["negative", "negative", "other", "other", "other", "negative"][: len(ids)]
    split = tmp_path / "val.parquet"
    write_table(
        pd.DataFrame({"id": ids, "text": [f"text of {i}" for i in ids], "label": gold}),
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
                **({"consistency": consistency[::-1]} if consistency else {}),
            }
        ),
        labels,
        LABELS,
        labels=LABEL_SET,
    )
    return split, labels, gold


def test_the_disagreements_list_the_llms_most_confident_first_with_the_coders_split(tmp_path):
    llm = ["negative", "other", "other", "negative", "other", None]
    probs = [[0.9, 0.1], [0.3, 0.7], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5], None]
    split, labels, _ = _write_val(tmp_path, llm, probs)
    coders = tmp_path / "coders.csv"
    pd.DataFrame(
        {
            "id": ["t1", "t1", "t3", "t5", "t5", "t0"],
            "coder": ["A", "B", "A", "A", "C", "A"],
            "label": ["negative", "other", "other", "negative", "negative", "negative"],
        }
    ).to_csv(coders, index=False)
    out = tmp_path / "disagreements" / "gemma.parquet"
    meta = {"task": "t", "labeler": "gemma"}
    stage.run(split, labels, coders, LABEL_SET, "negative", meta, tmp_path / "a.json", out_disagreements=out)
    table = read_table(out, DISAGREEMENTS)
    # gold neg neg oth oth oth neg; llm neg oth(0.7) oth neg(0.6) oth failed
    assert table["id"].tolist() == ["t1", "t3", "t5"]
    assert table["text"].tolist() == ["text of t1", "text of t3", "text of t5"]
    assert table["human_label"].tolist() == ["negative", "other", "negative"]
    assert table["llm_label"].tolist()[:2] == ["other", "negative"] and pd.isna(table["llm_label"][2])
    assert table["llm_probability"].tolist()[:2] == pytest.approx([0.7, 0.6])
    assert math.isnan(table["llm_probability"][2])
    assert table["coders"].tolist() == ["negative 1, other 1", "other 1", "negative 2"]
    assert table_metadata(out, "source") == meta
    # without coder labels the split is empty
    stage.run(split, labels, None, LABEL_SET, "negative", meta, tmp_path / "b.json", out_disagreements=out)
    assert read_table(out, DISAGREEMENTS)["coders"].isna().all()


def test_agreement_stage_values(tmp_path):
    llm = ["negative", "other", "other", "negative", "other", None]
    probs = [[0.9, 0.1], [0.3, 0.7], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5], None]
    consistency = [1.0, 0.6, 1.0, 0.8, 0.6, None]
    split, labels, gold = _write_val(tmp_path, llm, probs, consistency)
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
    meta = {"task": "t", "labeler": "gemma"}
    stage.run(
        split, labels, coders, LABEL_SET, "negative", meta, out, alt_test={"min_texts": 2, "epsilon": 0.2}
    )
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
    assert result["coders_pairwise_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=human, level_of_measurement="nominal")
    )
    assert result["human_human_alpha"] == result["coders_pairwise_alpha"]
    assert result["n_coders_median"] == 2.0 and result["n_coded_texts"] == 5
    # LLM label shares over all 6 val texts, and consistency over the 5 labelled ones
    assert (result["positive_rate"], result["human_positive_rate"]) == (2 / 6, 3 / 6)
    assert result["mean_consistency"] == pytest.approx(0.8)
    assert result["share_consistency_1"] == pytest.approx(2 / 5)
    assert [(b["level"], b["n"], b["accuracy"]) for b in result["accuracy_by_consistency"]] == [
        ("0.6", 2, 0.5),
        ("0.8", 1, 0.0),
        ("1", 2, 1.0),
    ]
    # leave one coder out (min_texts 2): A on t0 t1 t2 t5 (t3 has no other coder), B on
    # t0 t1 t2; C has one text. Majority of the others = the one other coder here.
    rows = {row["coder"]: row for row in result["coders"]}
    assert sorted(rows) == ["A", "B"] and result["n_coders_scored"] == 2
    loo = {"A": (["negative", "other", "other", "negative"], ["negative", "negative", "other", "negative"])}
    loo["B"] = (["negative", "negative", "other"], ["negative", "other", "other"])
    for coder, (other, own) in loo.items():
        assert rows[coder]["n"] == len(own)
        assert rows[coder]["accuracy"] == pytest.approx(np.mean(np.array(other) == np.array(own)))
        assert rows[coder]["kappa"] == pytest.approx(cohen_kappa_score(other, own))
    assert result["coder_accuracy_median"] == pytest.approx((3 / 4 + 2 / 3) / 2)
    # alt-test: A: d = W_h - W_f = 0 (t0), -1 (t1: LLM agrees with B, A not), 0 (t2),
    # +1 (t5: the LLM failed, matches nobody); B: d = 0 on all three texts -> p = 0
    d = np.array([0, -1, 0, 1])
    p_a = stats.t.cdf((d.mean() - 0.2) / (d.std(ddof=1) / 2), 3)
    assert (rows["A"]["rho_f"], rows["A"]["rho_h"]) == (0.75, 0.75)
    assert rows["A"]["p"] == pytest.approx(p_a) and rows["B"]["p"] == 0.0
    assert rows["A"]["p_adjusted"] == pytest.approx(p_a * 2 * 1.5 / 2)  # BY: m = 2, c(m) = 1.5
    assert (rows["A"]["rejected"], rows["B"]["rejected"]) == (False, True)
    assert result["alt_test_winning_rate"] == 0.5 and result["alt_test_passed"] is True
    assert result["alt_test_advantage"] == pytest.approx((0.75 + 1.0) / 2)
    assert (result["alt_test_epsilon"], result["alt_test_alpha"], result["alt_test_n_coders"]) == (
        0.2,
        0.05,
        2,
    )


def test_three_label_agreement_names_macro_f1_and_matches_sklearn(tmp_path):
    """A three-label task is read by macro-F1: the record names it, and it and the coders'
    macro-F1 are scikit-learn's (a failed LLM label is wrong, never a label of its own)."""
    ids = [f"t{i:02d}" for i in range(len(GOLD3))]
    split, labels = tmp_path / "val.parquet", tmp_path / "llm_val.parquet"
    write_table(pd.DataFrame({"id": ids, "text": "x", "label": GOLD3}), split, SPLIT, labels=LABELS3)
    write_table(
        pd.DataFrame(
            {
                "id": ids,
                "label": PRED3,
                "probabilities": None,
                "error": [None if p else "no answer" for p in PRED3],
                **{"labeler": "llm", "backend": "local", "model": "m", "prompt_hash": "h"},
            }
        ),
        labels,
        LABELS,
        labels=LABELS3,
    )
    # Three coders: two code as the gold, one as the LLM (negative where it failed). The
    # third's leave-one-out gold is then the gold itself, with no tie to draw.
    as_llm = [p or "negative" for p in PRED3]
    coders = pd.DataFrame(
        [(i, coder, g) for coder in ("gold_a", "gold_b") for i, g in zip(ids, GOLD3, strict=True)]
        + [(i, "like_llm", p) for i, p in zip(ids, as_llm, strict=True)],
        columns=["id", "coder", "label"],
    )
    coders.to_csv(tmp_path / "coders.csv", index=False)
    out = tmp_path / "agreement.json"
    meta = {"task": "t", "labeler": "llm"}
    stage.run(
        split,
        labels,
        tmp_path / "coders.csv",
        LABELS3,
        "negative",
        meta,
        out,
        alt_test={"min_texts": 5},
        headline="macro_f1",
    )
    result = json.loads(out.read_text())
    failed_as_wrong = [p or "failed" for p in PRED3]
    assert result["headline"] == "macro_f1"
    assert result["macro_f1"] == pytest.approx(
        f1_score(GOLD3, failed_as_wrong, labels=LABELS3, average="macro")
    )
    assert result["f1"] == pytest.approx(f1_score(GOLD3, failed_as_wrong, labels=LABELS3, average=None)[0])
    rows = {row["coder"]: row for row in result["coders"]}
    assert sorted(rows) == ["gold_a", "gold_b", "like_llm"]
    assert rows["like_llm"]["macro_f1"] == pytest.approx(f1_score(GOLD3, as_llm, average="macro"))
    assert rows["like_llm"]["f1"] == pytest.approx(f1_score(GOLD3, as_llm, average=None, labels=LABELS3)[0])
    macro = sorted(row["macro_f1"] for row in rows.values())
    assert result["coder_macro_f1_median"] == pytest.approx(macro[1])


def test_agreement_stage_without_coders_writes_nulls(tmp_path):
    split, labels, _ = _write_val(tmp_path, ["negative", "negative", "other", "other"])
    out = tmp_path / "a.json"
    stage.run(split, labels, None, LABEL_SET, "negative", {"task": "t", "labeler": "gemma"}, out)
    result = json.loads(out.read_text())
    assert result["accuracy"] == 1.0 and result["cohen_kappa"] == 1.0
    assert result["krippendorff_alpha"] == 1.0
    assert result["human_human_alpha"] is None and result["mean_label_probability"] is None
    assert result["coders_pairwise_alpha"] is None and result["coder_kappa_median"] is None
    assert result["alt_test_winning_rate"] is None and result["alt_test_passed"] is None
    assert result["n_coders_scored"] == 0 and result["coders"] == []
    assert result["mean_consistency"] is None and result["accuracy_by_consistency"] == []
    assert (result["positive_rate"], result["human_positive_rate"]) == (0.5, 0.5)


def test_agreement_stage_with_too_few_coder_texts_writes_null_alt_test(tmp_path):
    split, labels, _ = _write_val(tmp_path, ["negative", "negative", "other", "other"])
    coders = tmp_path / "coders.csv"
    pd.DataFrame(
        {"id": ["t0", "t0", "t1", "t1"], "coder": ["A", "B", "A", "B"], "label": ["negative"] * 4}
    ).to_csv(coders, index=False)
    out = tmp_path / "a.json"
    stage.run(
        split, labels, coders, LABEL_SET, "negative", {"task": "t", "labeler": "gemma"}, out, alt_test=None
    )  # min_texts 30
    result = json.loads(out.read_text())
    assert result["coders_pairwise_alpha"] is None  # one category only: alpha undefined
    assert result["n_coders_scored"] == 0 and result["coders"] == []
    assert result["alt_test_n_coders"] == 0 and result["alt_test_passed"] is None
    assert result["alt_test_epsilon"] == 0.15
    with pytest.raises(LabelDistillError, match="evaluation.alt_test"):
        stage.run(
            split,
            labels,
            coders,
            LABEL_SET,
            "negative",
            {"task": "t", "labeler": "gemma"},
            out,
            alt_test={"epsilon": 2},
        )


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
        stage.run(
            split, labels, None, LABEL_SET, "negative", {"task": "t", "labeler": "gemma"}, tmp_path / "a.json"
        )


def test_agreement_stage_rejects_coder_labelling_twice(tmp_path):
    split, labels, _ = _write_val(tmp_path, ["negative", "other", "other"])
    coders = tmp_path / "coders.csv"
    pd.DataFrame({"id": ["t0", "t0"], "coder": ["A", "A"], "label": ["negative", "other"]}).to_csv(
        coders, index=False
    )
    with pytest.raises(LabelDistillError, match="coders.csv.*'A'.*'t0'"):
        stage.run(
            split,
            labels,
            coders,
            LABEL_SET,
            "negative",
            {"task": "t", "labeler": "gemma"},
            tmp_path / "a.json",
        )
