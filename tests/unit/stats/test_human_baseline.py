"""Human baselines: leave-one-coder-out scores and the Alternative Annotator Test.

Every figure is checked against an independent computation: plain loops over texts and
coders, scikit-learn's kappa and F1, a hand t statistic and the Benjamini-Yekutieli formula.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score, f1_score

from labeldistill.errors import LabelDistillError
from labeldistill.stats.human_baseline import (
    CODER_COLUMNS,
    AltTestSettings,
    alt_test,
    coder_scores,
    joint_winning_rates,
    leave_one_out_majority,
    one_sided_p,
    summarise_coders,
)

LABELS = ["neg", "oth"]


def _long(table: dict[str, dict[str, str]]) -> pd.DataFrame:
    """{coder: {text: label}} -> long form (id, coder, label)."""
    rows = [(text, coder, label) for coder, texts in table.items() for text, label in texts.items()]
    return pd.DataFrame(rows, columns=["id", "coder", "label"])


def _simulated(n_texts=60, n_coders=5, flip=0.2, seed=3) -> tuple[pd.DataFrame, list[str], dict]:
    """Coders who each flip a text's true label with probability `flip`."""
    rng = np.random.default_rng(seed)
    ids = [f"t{i:03d}" for i in range(n_texts)]
    truth = dict(zip(ids, rng.choice(LABELS, n_texts, p=[0.35, 0.65]), strict=True))
    table = {
        f"c{j}": {
            t: (("oth" if y == "neg" else "neg") if rng.random() < flip else y) for t, y in truth.items()
        }
        for j in range(n_coders)
    }
    return _long(table), ids, table


# Text "l" has three coders (D left it out): A and B each see a tie among the two others.
HAND = {
    "A": dict(zip("abcdefghijkl", "neg neg oth oth neg oth oth neg oth oth neg oth".split(), strict=True)),
    "B": dict(zip("abcdefghijkl", "neg oth oth oth neg oth neg neg oth oth oth oth".split(), strict=True)),
    "C": dict(zip("abcdefghijkl", "neg neg oth neg neg oth oth oth oth oth neg neg".split(), strict=True)),
    "D": dict(zip("abcdefghijkl", "oth neg oth oth neg neg oth neg oth neg neg oth".split(), strict=True)),
}
HAND["D"].pop("l")
HAND["E"] = {"a": "neg", "z": "oth"}  # "z" has no other coder; E has one scorable text


def _plain_loo(table, coder, ids):
    """Leave-one-out majority by a plain loop: (gold, own, n_ties); gold None at a tie."""
    gold, own, ties = [], [], 0
    for text in sorted(table[coder]):
        if text not in ids:
            continue
        others = [table[c][text] for c in table if c != coder and text in table[c]]
        if not others:
            continue
        counts = Counter(others).most_common()
        tie = len(counts) > 1 and counts[0][1] == counts[1][1]
        ties += tie
        gold.append(None if tie else counts[0][0])
        own.append(table[coder][text])
    return gold, own, ties


# ---- leave one coder out ---------------------------------------------------------------
def test_coder_scores_match_plain_loop_and_sklearn():
    ids = list("abcdefghijklz")
    scores = coder_scores(_long(HAND), ids, LABELS, "neg", min_texts=10).set_index("coder")
    assert list(scores.index) == ["A", "B", "C", "D"]  # E has 1 text shared with others
    for coder in ["A", "B", "C", "D"]:
        gold, own, ties = _plain_loo(HAND, coder, set(ids))
        row = scores.loc[coder]
        assert row["n"] == len(own) and row["n_ties"] == ties
        # a tie is drawn: the scores are those of one of the completions of the tied texts
        completions = [[g if g is not None else label for g in gold] for label in LABELS]
        assert any(
            row["accuracy"] == pytest.approx(np.mean(np.array(full) == np.array(own)))
            and row["f1"] == pytest.approx(f1_score(full, own, pos_label="neg"))
            and row["kappa"] == pytest.approx(cohen_kappa_score(full, own))
            for full in completions
        )
    assert list(scores["n_ties"]) == [1, 1, 0, 0] and list(scores["n"]) == [12, 12, 12, 11]


def test_coder_scores_restrict_to_ids_and_min_texts():
    ids = list("abcdef")
    scores = coder_scores(_long(HAND), ids, LABELS, "neg", min_texts=6).set_index("coder")
    assert list(scores.index) == ["A", "B", "C", "D"]
    assert set(scores["n"]) == {6} and scores["n_ties"].sum() == 0
    for coder in scores.index:
        gold, own, _ = _plain_loo(HAND, coder, set(ids))
        assert scores.loc[coder, "kappa"] == pytest.approx(cohen_kappa_score(gold, own))
    assert coder_scores(_long(HAND), ids, LABELS, "neg", min_texts=7).empty


def test_ties_are_counted_drawn_among_the_tied_and_seeded():
    others = np.array([[2, 1], [1, 1], [0, 3], [2, 2], [1, 1]])
    majority, ties = leave_one_out_majority(others, np.random.default_rng(5))
    assert ties == 3 and majority[0] == 0 and majority[2] == 1
    again, _ = leave_one_out_majority(others, np.random.default_rng(5))
    assert list(majority) == list(again)
    draws = {tuple(leave_one_out_majority(others, np.random.default_rng(s))[0]) for s in range(40)}
    assert {d[1] for d in draws} == {0, 1}  # both tied labels get drawn


def test_coder_scores_without_ties_match_plain_loop_on_simulated_data():
    coders, ids, table = _simulated(n_texts=50, n_coders=6)  # 5 others: no ties
    scores = coder_scores(coders, ids, LABELS, "neg").set_index("coder")
    assert len(scores) == 6 and scores["n_ties"].sum() == 0
    for coder in table:
        gold, own, _ = _plain_loo(table, coder, set(ids))
        assert scores.loc[coder, "accuracy"] == pytest.approx(np.mean(np.array(gold) == np.array(own)))
        assert scores.loc[coder, "f1"] == pytest.approx(f1_score(gold, own, pos_label="neg"))
        assert scores.loc[coder, "kappa"] == pytest.approx(cohen_kappa_score(gold, own))


def test_coder_scores_of_three_labels_give_sklearn_macro_f1():
    """A three-label task is read by macro-F1: each coder's, against the majority of the
    others. Four others can tie; a drawn tie may go either way, so each coder is scored on the
    texts where the others' majority is clear."""
    rng = np.random.default_rng(11)
    labels = ["neg", "neu", "pos"]
    ids = [f"t{i:03d}" for i in range(80)]
    truth = rng.choice(labels, len(ids), p=[0.2, 0.5, 0.3])
    table = {
        f"c{j}": {
            t: (rng.choice(labels) if rng.random() < 0.25 else y) for t, y in zip(ids, truth, strict=True)
        }
        for j in range(5)
    }
    for coder in table:
        gold, own, _ = _plain_loo(table, coder, set(ids))
        clear = [t for t, g in zip(sorted(ids), gold, strict=True) if g is not None]
        scores = coder_scores(_long(table), clear, labels, "neg").set_index("coder")
        assert scores.loc[coder, "n_ties"] == 0
        kept = [(g, o) for g, o in zip(gold, own, strict=True) if g is not None]
        expected = f1_score([g for g, _ in kept], [o for _, o in kept], average="macro")
        assert scores.loc[coder, "macro_f1"] == pytest.approx(expected)
        assert scores.loc[coder, "macro_f1"] != pytest.approx(scores.loc[coder, "f1"])


def test_summary_over_coders():
    scores = pd.DataFrame(
        {
            "coder": list("abcde"),
            "n": 10,
            "n_ties": [0, 1, 0, 2, 0],
            "accuracy": [0.9, 0.8, 0.7, 0.6, 0.5],
            "f1": [0.1, 0.2, 0.3, 0.4, 0.5],
            "macro_f1": [0.6, 0.4, 0.2, 0.8, 0.9],
            "kappa": [0.5, np.nan, 0.1, 0.3, 0.2],
        }
    )
    summary = summarise_coders(scores)
    assert summary["n_coders_scored"] == 5 and summary["n_loo_ties"] == 3
    assert summary["coder_accuracy_median"] == 0.7
    assert summary["coder_accuracy_q25"] == pytest.approx(0.6)
    assert summary["coder_accuracy_q75"] == pytest.approx(0.8)
    assert (summary["coder_f1_min"], summary["coder_f1_max"]) == (0.1, 0.5)
    assert summary["coder_macro_f1_median"] == 0.6
    assert summary["coder_kappa_median"] == pytest.approx(0.25)  # NaN left out
    assert summary["coder_kappa_q25"] == pytest.approx(0.175)
    empty = summarise_coders(pd.DataFrame(columns=CODER_COLUMNS))
    assert empty["n_coders_scored"] == 0 and math.isnan(empty["coder_kappa_median"])


# ---- the alt-test ----------------------------------------------------------------------
def _plain_alt_test(table, llm, epsilon, min_texts):
    """Per coder (rho_f, rho_h, p) by plain loops and a hand t statistic."""
    result = {}
    for coder in sorted(table):
        w_f, w_h = [], []
        for text, own in table[coder].items():
            if text not in llm:
                continue
            others = [table[c][text] for c in table if c != coder and text in table[c]]
            if not others:
                continue
            s_h = sum(o == own for o in others) / len(others)
            s_f = sum(o == llm[text] for o in others) / len(others)  # None matches nobody
            w_f.append(float(s_f >= s_h))
            w_h.append(float(s_h >= s_f))
        if len(w_f) < min_texts:
            continue
        d = np.array(w_h) - np.array(w_f)
        n = len(d)
        t = (d.mean() - epsilon) / (d.std(ddof=1) / math.sqrt(n))
        result[coder] = (np.mean(w_f), np.mean(w_h), float(stats.t.cdf(t, n - 1)))
    return result


def _hand_by(p):
    """Benjamini-Yekutieli adjusted p-values: p_(i) m c(m) / i, made monotone from the top."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    c_m = sum(1 / i for i in range(1, m + 1))
    order = np.argsort(p)
    adjusted = np.empty(m)
    running = 1.0
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        running = min(running, p[index] * m * c_m / rank)
        adjusted[index] = min(running, 1.0)
    return adjusted


def test_alt_test_matches_plain_loop_t_test_and_hand_by():
    coders, ids, table = _simulated(n_texts=80, n_coders=8, flip=0.25, seed=11)
    rng = np.random.default_rng(2)
    truth_guess = {t: Counter(table[c][t] for c in table).most_common(1)[0][0] for t in ids}
    llm = {t: (y if rng.random() < 0.8 else ("oth" if y == "neg" else "neg")) for t, y in truth_guess.items()}
    tests, summary = alt_test(coders, llm, LABELS, epsilon=0.1, alpha=0.05, min_texts=30)
    tests = tests.set_index("coder")
    plain = _plain_alt_test(table, llm, 0.1, 30)
    assert list(tests.index) == sorted(plain)
    for coder, (rho_f, rho_h, p) in plain.items():
        assert tests.loc[coder, "rho_f"] == pytest.approx(rho_f)
        assert tests.loc[coder, "rho_h"] == pytest.approx(rho_h)
        assert tests.loc[coder, "p"] == pytest.approx(p)
        assert tests.loc[coder, "n"] == 80
    # the same p-value from scipy's paired t-test: mean(w_h - eps - w_f) < 0
    adjusted = _hand_by([plain[c][2] for c in sorted(plain)])
    assert tests["p_adjusted"].to_numpy() == pytest.approx(adjusted)
    assert list(tests["rejected"]) == list(adjusted <= 0.05)
    assert 0 < adjusted.min() and len(set(np.round(adjusted, 12))) > 1  # a non-trivial case
    assert summary["winning_rate"] == pytest.approx(np.mean(adjusted <= 0.05))
    assert summary["advantage"] == pytest.approx(np.mean([v[0] for v in plain.values()]))
    assert summary["passed"] == (np.mean(adjusted <= 0.05) >= 0.5)
    assert summary["n_coders"] == 8 and (summary["epsilon"], summary["alpha"]) == (0.1, 0.05)


def test_the_joint_test_corrects_over_every_tasks_coders_at_once():
    # one task's coders alone pass (4 small p-values among 4); among 12 they need more
    p_values = {
        "a": [0.001, 0.004, 0.006, 0.009],
        "b": [0.2, 0.5, 0.9, 0.01],
        "c": [0.3, 0.6, 0.7, float("nan")],
    }
    rates = joint_winning_rates(p_values, alpha=0.05)
    pooled = [p if p == p else 1.0 for values in p_values.values() for p in values]
    adjusted = _hand_by(pooled)
    assert rates == pytest.approx(
        {"a": np.mean(adjusted[:4] <= 0.05), "b": np.mean(adjusted[4:8] <= 0.05), "c": 0.0}
    )
    alone = _hand_by(p_values["a"])
    assert np.mean(alone <= 0.05) == 1.0 and rates["a"] < 1.0  # the joint correction is stricter
    assert math.isnan(joint_winning_rates({"a": [0.01], "empty": []})["empty"])


def test_alt_test_p_value_equals_paired_t_test():
    w_f = np.array([1, 1, 0, 1, 1, 1, 0, 1, 1, 1], dtype=float)
    w_h = np.array([1, 0, 1, 0, 1, 0, 1, 1, 0, 0], dtype=float)
    expected = stats.ttest_rel(w_h - 0.2, w_f, alternative="less").pvalue
    assert one_sided_p(w_h - w_f, 0.2) == pytest.approx(expected)


def test_degenerate_differences():
    assert one_sided_p(np.zeros(20), 0.2) == 0.0  # always tied: mean 0 < epsilon
    assert one_sided_p(np.ones(20), 0.2) == 1.0
    assert math.isnan(one_sided_p(np.array([0.0]), 0.2))


def test_majority_of_all_coders_passes_random_labels_fail():
    coders, ids, table = _simulated(n_texts=100, n_coders=5, flip=0.2, seed=7)
    majority = {t: Counter(table[c][t] for c in table).most_common(1)[0][0] for t in ids}
    tests, summary = alt_test(coders, majority, LABELS, epsilon=0.2)
    assert summary["passed"] is True and summary["winning_rate"] >= 0.5
    assert summary["advantage"] > tests["rho_h"].mean()
    rng = np.random.default_rng(0)
    noise = {t: str(rng.choice(LABELS)) for t in ids}
    tests, summary = alt_test(coders, noise, LABELS, epsilon=0.2)
    assert summary["passed"] is False and summary["winning_rate"] == 0.0
    assert (tests["p_adjusted"] > 0.05).all()


def test_llm_equal_to_one_coder_passes_against_that_coder():
    # the LLM copies coder A's labels: it ties A on every text (d = 0, p = 0)
    coders, ids, table = _simulated(n_texts=60, n_coders=4, flip=0.1, seed=4)
    tests, _ = alt_test(coders, dict(table["c0"]), LABELS, epsilon=0.2)
    row = tests.set_index("coder").loc["c0"]
    assert (row["rho_f"], row["rho_h"], row["p"]) == (1.0, 1.0, 0.0) and row["rejected"]


def test_failed_llm_text_matches_nobody():
    table = {"A": {"x": "neg", "y": "oth"}, "B": {"x": "neg", "y": "neg"}, "C": {"x": "oth", "y": "neg"}}
    tests, _ = alt_test(_long(table), {"x": None, "y": "neg"}, LABELS, min_texts=2)
    tests = tests.set_index("coder")
    # A on x: others B neg, C oth: S_h = 1/2, S_f = 0 -> W_f 0, W_h 1; on y: S_h 0, S_f 1
    assert tests.loc["A", "rho_f"] == 0.5 and tests.loc["A", "rho_h"] == 0.5
    # C on x: others A neg, B neg: S_h 0 = S_f 0 -> both 1; on y: S_h 1/2 = S_f -> both 1
    assert tests.loc["C", "rho_f"] == 1.0 and tests.loc["C", "rho_h"] == 1.0


def test_alt_test_without_enough_texts():
    tests, summary = alt_test(_long(HAND), {t: "neg" for t in "abc"}, LABELS, min_texts=10)
    assert tests.empty and summary["n_coders"] == 0
    assert math.isnan(summary["winning_rate"]) and summary["passed"] is None


def test_settings_from_config():
    assert AltTestSettings.from_config(None) == AltTestSettings(0.15, 0.05, 30)
    assert AltTestSettings.from_config({"epsilon": 0.1}).epsilon == 0.1
    with pytest.raises(LabelDistillError, match="evaluation.alt_test.*'eps'"):
        AltTestSettings.from_config({"eps": 0.1})
    with pytest.raises(LabelDistillError, match="evaluation.alt_test.alpha"):
        AltTestSettings.from_config({"alpha": 0})
    with pytest.raises(LabelDistillError, match="evaluation.alt_test.min_texts"):
        AltTestSettings.from_config({"min_texts": 2.5})
