"""Tables from a hand-built set of metric records: every value checked."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from labeldistill.conditions import GAP_FEWSHOT, GAP_HUMAN, parse_condition
from labeldistill.errors import LabelDistillError
from labeldistill.report.table_formats import display_frame, to_latex, to_markdown, write_tables
from labeldistill.report.table_records import load_agreement_records, load_metric_records, metric_record
from labeldistill.report.tables import (
    agreement_table,
    build_tables,
    coders_table,
    data_table,
    gaps_table,
    headline_gaps_table,
    medians_table,
    per_task_table,
)

# (task, condition, seed, f1); precision = f1 + 0.1, recall = f1 - 0.1, accuracy = 0.9
RUNS = [
    ("task_a", "tfidf-logreg@human:250", 0, 0.6),
    ("task_a", "tfidf-logreg@human:250", 1, 0.8),
    ("task_a", "tfidf-logreg@gemma:250", 0, 0.5),
    ("task_a", "tfidf-logreg@gemma:250", 1, 0.6),
    ("task_a", "fewshot@gemma", None, 0.58),
    ("task_a", "minilm@gemma:250", 0, 0.6),
    ("task_b", "tfidf-logreg@human:250", 0, 0.4),
    ("task_b", "tfidf-logreg@human:250", 1, 0.4),
    ("task_b", "tfidf-logreg@gemma:250", 0, 0.3),
    ("task_b", "tfidf-logreg@gemma:250", 1, 0.5),
    ("task_b", "fewshot@gemma", None, 0.2),
    ("task_c", "tfidf-logreg@human:250", 0, 0.9),
    ("task_c", "tfidf-logreg@gemma:250", 0, 0.7),
]


def metric_json(task, condition, seed, f1):
    parsed = parse_condition(condition)
    kind = parsed.kind
    return {
        "task": task,
        "condition": condition,
        "kind": kind,
        "student": parsed.student,
        "labeler": parsed.labeler,
        "train_size": parsed.size,
        "seed": seed,
        "n": 100,
        "n_failed": 2 if kind == "fewshot" else 0,
        "f1": f1,
        "precision": f1 + 0.1,
        "recall": f1 - 0.1,
        "accuracy": 0.9,
        "macro_f1": 0.7,
        "ci": {"f1": [f1 - 0.1, f1 + 0.1]},
        "ci_level": 0.95,
        "n_boot": 1000,
        "positive_label": "pos",
        "positive_rate": f1 / 2,
        "human_positive_rate": 0.3,
    }


@pytest.fixture
def records() -> pd.DataFrame:
    rows = [metric_record(metric_json(*run), f"run{i}.json") for i, run in enumerate(RUNS)]
    frame = pd.DataFrame(rows)
    frame["seed"] = frame["seed"].astype("Int64")
    return frame


def row(table, **where):
    mask = pd.Series(True, index=table.index)
    for key, value in where.items():
        mask &= table[key] == value
    assert mask.sum() == 1, where
    return table[mask].iloc[0]


def test_parse_condition():
    human = parse_condition("tfidf-logreg@human:250")
    assert (human.kind, human.student, human.labeler, human.rank) == ("student", "tfidf-logreg", "human", 0)
    few = parse_condition("fewshot@gemma")
    assert (few.kind, few.student, few.labeler, few.name) == ("fewshot", None, "gemma", "fewshot@gemma")
    with pytest.raises(LabelDistillError, match="student@labeler"):
        parse_condition("tfidf-logreg")
    with pytest.raises(LabelDistillError, match="ends in :size"):
        parse_condition("tfidf-logreg@human")
    augmented = parse_condition("minilm@human250+gpt4o:1000")
    assert (augmented.labeler, augmented.size, augmented.labeler_kind) == (
        "human250+gpt4o",
        "1000",
        "augmented",
    )
    assert parse_condition("minilm@gemma:all").size == "all"


def intervals_for(records):
    """Seed-mean intervals as the compare stage writes them: here mean +- 0.05."""
    rows = []
    for (task, condition), group in records.groupby(["task", "condition"]):
        mean = group["f1"].mean()
        rows.append(
            {
                "task": task,
                "condition": condition,
                "metric": "f1",
                "n_positive": 30,
                "estimate": mean,
                "low": mean - 0.05,
                "high": mean + 0.05,
                "se_test": 0.02,
                "sd_seeds": 0.0,
                "df": 10.0,
            }
        )
    return pd.DataFrame(rows)


def test_per_task_means_sds_and_order(records):
    table = per_task_table(records, intervals_for(records))
    assert len(table) == 9
    a_human = row(table, task="task_a", condition="tfidf-logreg@human:250")
    assert a_human["n_seeds"] == 2
    assert a_human["f1_mean"] == pytest.approx(0.7)
    assert a_human["f1_sd"] == pytest.approx(math.sqrt(0.02))  # sample sd of (0.6, 0.8)
    assert a_human["precision_mean"] == pytest.approx(0.8)
    assert a_human["recall_mean"] == pytest.approx(0.6)
    assert a_human["accuracy_mean"] == pytest.approx(0.9) and a_human["accuracy_sd"] == 0
    # the interval is that of the seed-mean, not the mean of per-seed endpoints (0.6, 0.8)
    assert (a_human["f1_ci_low"], a_human["f1_ci_high"]) == pytest.approx((0.65, 0.75))
    assert a_human["positive_rate_mean"] == pytest.approx(0.35) and a_human["human_positive_rate"] == 0.3
    assert a_human["n_positive"] == 30
    assert math.isnan(per_task_table(records).loc[0, "f1_ci_low"])  # no intervals: none shown
    b_human = row(table, task="task_b", condition="tfidf-logreg@human:250")
    assert b_human["f1_sd"] == 0.0
    few = row(table, task="task_a", condition="fewshot@gemma")
    assert few["n_seeds"] == 1 and math.isnan(few["f1_sd"]) and few["f1_mean"] == 0.58
    assert few["kind"] == "fewshot" and few["n_failed_mean"] == 2
    assert math.isnan(row(table, task="task_c", condition="tfidf-logreg@human:250")["f1_sd"])
    # tasks in order; within a task: human-label students, LLM-label students, few-shot
    assert table.loc[table["task"] == "task_a", "condition"].tolist() == [
        "tfidf-logreg@human:250",
        "minilm@gemma:250",
        "tfidf-logreg@gemma:250",
        "fewshot@gemma",
    ]
    assert table["task"].tolist() == sorted(table["task"])


def test_medians(records):
    table = medians_table(per_task_table(records))
    assert table["condition"].tolist() == [
        "tfidf-logreg@human:250",
        "minilm@gemma:250",
        "tfidf-logreg@gemma:250",
        "fewshot@gemma",
    ]
    human = row(table, condition="tfidf-logreg@human:250")
    assert human["n_tasks"] == 3
    assert human["f1_median"] == pytest.approx(0.7)  # of 0.7, 0.4, 0.9
    assert human["precision_median"] == pytest.approx(0.8)
    assert human["recall_median"] == pytest.approx(0.6)
    llm = row(table, condition="tfidf-logreg@gemma:250")
    assert llm["f1_median"] == pytest.approx(0.55)  # of 0.55, 0.4, 0.7
    few = row(table, condition="fewshot@gemma")
    assert (few["n_tasks"], few["f1_median"]) == (2, pytest.approx(0.39))
    assert row(table, condition="minilm@gemma:250")["n_tasks"] == 1


def gap_rows():
    """Per-task gaps as the compare stage writes them."""
    rows = []
    for comparison, condition_a, values in (
        (GAP_HUMAN, "tfidf-logreg@human:250", [0.15, 0.0, 0.2, -0.05, 0.1]),
        (GAP_FEWSHOT, "fewshot@gemma", [0.03, -0.2]),
    ):
        for i, gap in enumerate(values):
            rows.append(
                {
                    "task": f"task_{i}",
                    "comparison": comparison,
                    "student": "tfidf-logreg",
                    "labeler": "gemma",
                    "condition_a": condition_a,
                    "condition_b": "tfidf-logreg@gemma:250",
                    "metric": "f1",
                    "estimate_a": 0.5 + gap,
                    "estimate_b": 0.5,
                    "estimate": gap,
                    "low": gap - 0.1,
                    "high": gap + 0.1,
                    "p_value": 0.04,
                }
            )
    return pd.DataFrame(rows)


def test_gaps_per_task_and_median_with_tests():
    table = gaps_table(gap_rows())
    human = table[table["comparison"] == GAP_HUMAN]
    assert human["task"].tolist() == ["task_0", "task_1", "task_2", "task_3", "task_4", "median"]
    assert human["f1_gap"].tolist()[:5] == pytest.approx([0.15, 0.0, 0.2, -0.05, 0.1])
    assert human["gap_ci_low"].iloc[0] == pytest.approx(0.05) and human["p_value"].iloc[0] == 0.04
    median = row(human, task="median")
    gaps = np.array([0.15, 0.0, 0.2, -0.05, 0.1])
    assert median["f1_gap"] == pytest.approx(np.median(gaps))
    assert median["wilcoxon_p"] == pytest.approx(stats.wilcoxon(gaps).pvalue)
    assert (median["n_a_better"], median["n_b_better"], median["n_tasks"]) == (3, 1, 5)
    # 5 tasks: the order-statistic interval of the median is the range, covering 1 - 2 / 2**5
    assert (median["gap_ci_low"], median["gap_ci_high"]) == pytest.approx((-0.05, 0.2))
    assert median["median_ci_coverage"] == pytest.approx(1 - 2 * 0.5**5)
    few = table[table["comparison"] == GAP_FEWSHOT]
    assert few["task"].tolist() == ["task_0", "task_1", "median"]
    assert row(few, task="median")["f1_gap"] == pytest.approx(-0.085)
    assert gaps_table(pd.DataFrame()).empty


def test_data_table_from_split_summaries():
    summary = {
        "task": "t",
        "n_texts": 50,
        "positive_label": "neg",
        "parts": {
            "pool": {"n": 30, "label_counts": {}},
            "val": {"n": 10, "label_counts": {}},
            "test": {"n": 10, "label_counts": {"neg": 4, "other": 6}},
        },
        "duplicates": {
            "n_duplicate_groups": 2,
            "n_texts_in_duplicate_groups": 5,
            "n_groups_with_conflicting_labels": 1,
        },
    }
    table = data_table([summary])
    assert table.loc[0, "n_test_positive"] == 4 and table.loc[0, "human_positive_rate_test"] == 0.4
    assert table.loc[0, "n_texts_in_duplicate_groups"] == 5 and table.loc[0, "n_pool"] == 30


def test_agreement_table_drops_human_and_sorts(tmp_path):
    paths = []
    for task, labeler, accuracy in [
        ("t2", "gemma", 0.8),
        ("t1", "smol", 0.6),
        ("t1", "gemma", 0.7),
        ("t1", "human", 1.0),
    ]:
        path = tmp_path / f"{task}-{labeler}.json"
        record = {
            "task": task,
            "labeler": labeler,
            "accuracy": accuracy,
            "f1": 0.5,
            "n": 50,
            "n_failed": 0,
            "cohen_kappa": 0.5,
            "krippendorff_alpha": 0.5,
            "human_human_alpha": 0.4,
        }
        if task == "t2":  # a three-label task: read by macro-F1
            record.update(headline="macro_f1", macro_f1=0.45, coder_macro_f1_median=0.6)
        path.write_text(json.dumps(record))
        paths.append(path)
    table = agreement_table(load_agreement_records(paths))
    assert list(zip(table["task"], table["labeler"], strict=True)) == [
        ("t1", "gemma"),
        ("t1", "smol"),
        ("t2", "gemma"),
    ]
    assert table["accuracy"].tolist() == [0.7, 0.6, 0.8]
    assert (table["coders_pairwise_alpha"] == 0.4).all()  # read from a record that names it human_human_alpha
    # a record without a headline is read by the positive label's F1
    assert table["headline"].tolist() == ["f1", "f1", "macro_f1"]
    assert table["macro_f1"].isna().tolist() == [True, True, False] and table["macro_f1"].iloc[2] == 0.45


def test_load_records_from_json_and_duplicates(tmp_path):
    paths = []
    for i, run in enumerate(RUNS[:5]):
        path = tmp_path / f"m{i}.json"
        path.write_text(json.dumps(metric_json(*run)))
        paths.append(path)
    records = load_metric_records(paths)
    assert len(records) == 5 and records["seed"].isna().sum() == 1
    assert records["f1_ci_low"].iloc[0] == pytest.approx(0.5)
    with pytest.raises(LabelDistillError, match="same task, condition and seed"):
        load_metric_records([paths[0], paths[0]])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"task": "t", "condition": "x@y"}))
    with pytest.raises(LabelDistillError, match=r"bad\.json.*lacks key"):
        load_metric_records([bad])


def test_writers_round_and_escape(records, tmp_path):
    tables = build_tables(records, load_agreement_records([]), gaps=gap_rows())
    written = write_tables(tables, tmp_path / "tables")
    assert {p.name for p in written} == {
        f"{name}.{ext}"
        for name in (
            "per_task",
            "per_class",
            "medians",
            "gaps",
            "label_budget",
            "paper",
            "agreement",
            "coders",
            "data",
        )
        for ext in ("csv", "md", "tex")
    }
    csv = pd.read_csv(tmp_path / "tables" / "per_task.csv")
    assert csv["f1_mean"].tolist() == pytest.approx(tables["per_task"]["f1_mean"].tolist())
    md = (tmp_path / "tables" / "per_task.md").read_text()
    assert md.splitlines()[0].startswith("| Task")
    assert "| task_a " in md and "tfidf-logreg@human:250" in md
    assert "0.700" in md and "0.7000" not in md  # three decimals
    medians_md = to_markdown(tables["medians"], "medians")
    assert "Median F1" in medians_md and "0.390" in medians_md
    tex = to_latex(tables["per_task"], "per_task")
    assert "task\\_a" in tex and "\\toprule" in tex and "\\bottomrule" in tex
    assert tex.count("\\\\") == len(tables["per_task"]) + 1
    gaps_md = (tmp_path / "tables" / "gaps.md").read_text()
    assert "-0.085" in gaps_md and "Gap (A - B)" in gaps_md and "| f1 " in gaps_md
    # an empty agreement table still has its header
    assert "Krippendorff" in (tmp_path / "tables" / "agreement.md").read_text()


# ---- headline metric, task groups, per label ---------------------------------------------
def macro_json(task, condition, seed, macro, per_class, predicted=None):
    """A metrics record of a three-label task: headline macro-F1, per-class figures (with the
    texts predicted as each label, where `predicted` gives them)."""
    record = metric_json(task, condition, seed, 0.11)  # the first label's F1: not the headline
    record.update(
        headline="macro_f1",
        macro_f1=macro,
        macro_precision=macro + 0.01,
        macro_recall=macro - 0.01,
        per_class=[
            {"label": label, "precision": f1, "recall": f1, "f1": f1, "support": 10}
            | ({"predicted": predicted[k]} if predicted else {})
            for k, (label, f1) in enumerate(per_class)
        ],
    )
    return record


HUMAN_250, GEMMA_250 = "tfidf-logreg@human:250", "tfidf-logreg@gemma:250"


def test_headline_columns_medians_and_per_class_by_headline():
    from labeldistill.report.tables import add_headline, headline_medians_table, per_class_table

    binary = [metric_record(metric_json(*run), "b") for run in RUNS if run[0] == "task_a"]
    three = [
        metric_record(
            macro_json("tone", HUMAN_250, 0, 0.5, [("neg", 0.4), ("neu", 0.5), ("pos", 0.6)], [8, 12, 9]),
            "m0",
        ),
        metric_record(
            macro_json("tone", HUMAN_250, 1, 0.7, [("neg", 0.6), ("neu", 0.7), ("pos", 0.8)], [10, 10, 10]),
            "m1",
        ),
        metric_record(
            macro_json("tone", GEMMA_250, 0, 0.4, [("neg", 0.3), ("neu", 0.4), ("pos", 0.5)]),
            "m2",
        ),
    ]
    records = pd.DataFrame(binary + three)
    intervals = intervals_for(records)
    intervals = pd.concat(
        [intervals, intervals.assign(metric="macro_f1", low=0.01, high=0.99)], ignore_index=True
    )
    per_task = add_headline(per_task_table(records, intervals), records, intervals)
    tone = row(per_task, task="tone", condition="tfidf-logreg@human:250")
    assert tone["headline"] == "macro_f1" and tone["headline_mean"] == pytest.approx(0.6)
    assert tone["headline_sd"] == pytest.approx(math.sqrt(0.02))
    assert (tone["headline_ci_low"], tone["headline_ci_high"]) == (0.01, 0.99)  # macro-F1's interval
    assert tone["f1_mean"] == pytest.approx(0.11)  # kept, but not the headline
    assert tone["macro_precision_mean"] == pytest.approx(0.61)
    a = row(per_task, task="task_a", condition="tfidf-logreg@human:250")
    assert a["headline"] == "f1" and a["headline_mean"] == pytest.approx(0.7)
    assert (a["headline_ci_low"], a["headline_ci_high"]) == pytest.approx((0.65, 0.75))  # F1's interval
    medians = headline_medians_table(per_task)
    # a median never pools F1 tasks with macro-F1 tasks: one row per condition and headline
    assert list(zip(medians["headline"], medians["condition"], strict=True)) == [
        ("f1", "tfidf-logreg@human:250"),
        ("f1", "minilm@gemma:250"),
        ("f1", "tfidf-logreg@gemma:250"),
        ("f1", "fewshot@gemma"),
        ("macro_f1", "tfidf-logreg@human:250"),
        ("macro_f1", "tfidf-logreg@gemma:250"),
    ]
    assert row(medians, headline="macro_f1", condition="tfidf-logreg@human:250")[
        "headline_median"
    ] == pytest.approx(0.6)
    per_class = per_class_table(records)
    assert set(per_class["task"]) == {"tone"}  # binary tasks scored by F1 have no rows
    assert per_class["label"].tolist() == ["neg", "neu", "pos"] * 2
    human_neu = row(per_class, condition="tfidf-logreg@human:250", label="neu")
    assert (human_neu["n_seeds"], human_neu["f1_mean"], human_neu["support"]) == (2, pytest.approx(0.6), 10)
    # shares of the 30 test texts (one failed in seed 0): human 10 of 30, predicted 12 and 10
    assert human_neu["human_share"] == pytest.approx(1 / 3)
    assert human_neu["predicted_share_mean"] == pytest.approx((12 / 30 + 10 / 30) / 2)
    assert math.isnan(
        row(per_class, condition=GEMMA_250, label="neu")["predicted_share_mean"]
    )  # a record without predicted counts
    md = to_markdown(per_task, "per_task")
    assert "| Headline " in md and "macro_f1" in md and "Task group" not in md  # no one_vs_rest here


def test_gaps_are_summarised_per_metric_and_grouped_by_task_group():
    from labeldistill.report.tables import headline_gaps_table

    gaps = gap_rows()
    macro = gaps[gaps["comparison"] == GAP_HUMAN].assign(
        metric="macro_f1", task=lambda f: "tone." + f["task"]
    )
    table = headline_gaps_table(
        pd.concat([gaps, macro]), {f"tone.task_{i}": {"task_group": "tone"} for i in range(5)}
    )
    medians = table[table["task"] == "median"]
    assert sorted(zip(medians["comparison"], medians["metric"], medians["n_tasks"], strict=True)) == sorted(
        [(GAP_HUMAN, "f1", 5), (GAP_HUMAN, "macro_f1", 5), (GAP_FEWSHOT, "f1", 2)]
    )
    assert set(table.loc[table["metric"] == "macro_f1", "task_group"]) == {"tone", ""}
    md = to_markdown(table, "gaps")
    assert "| Task group " in md and "macro_f1" in md


@pytest.mark.parametrize(
    ("n_tasks", "label"), [(2, "range of 2 tasks: 0.50"), (9, "0.96 (order statistics)")]
)
def test_a_median_interval_says_what_it_covers(n_tasks, label):
    rows = gap_rows()
    human = rows[rows["comparison"] == GAP_HUMAN].iloc[0]
    frame = pd.DataFrame([{**human, "task": f"t{i}", "estimate": 0.01 * i} for i in range(n_tasks)])
    table = gaps_table(frame)
    median = row(table, task="median")
    assert median["ci_covers"] == label
    assert set(table.loc[table["task"] != "median", "ci_covers"]) == {"0.95 (paired bootstrap)"}
    shown = to_markdown(table.assign(metric="f1"), "gaps")
    assert label in shown and "95% CI" not in shown


def test_gap_p_values_are_adjusted_over_every_gap_of_the_run():
    table = headline_gaps_table(gap_rows())
    tasks = table[table["task"] != "median"]
    # Seven per-task gaps at p = 0.04: Benjamini-Yekutieli over all of them, as scipy computes it.
    expected = stats.false_discovery_control([0.04] * 7, method="by")
    assert tasks["p_by"].to_numpy() == pytest.approx(expected)
    assert (tasks["p_by"] > tasks["p_value"]).all()
    medians = table[table["task"] == "median"]
    assert medians["wilcoxon_p_by"].notna().sum() == medians["wilcoxon_p"].notna().sum()


def test_tiny_p_values_print_as_below_a_thousandth():
    table = headline_gaps_table(gap_rows().assign(p_value=1e-6))
    shown = display_frame(table, "gaps")
    per_task = table["task"] != "median"
    assert set(shown.loc[per_task.to_numpy(), "p (gap = 0)"]) == {"< 0.001"}


def test_the_coders_table_adds_the_test_corrected_over_every_tasks_coders(tmp_path):
    paths = []
    for task, p_values in (("a", [0.001, 0.002, 0.003]), ("b", [0.001, 0.5, 0.9])):
        record = {"task": task, "labeler": "gemma", "n": 100, "n_failed": 0, "accuracy": 0.8, "f1": 0.7}
        record |= {"cohen_kappa": 0.5, "krippendorff_alpha": 0.5}
        record |= {"n_coders_scored": 3, "alt_test_alpha": 0.05, "alt_test_winning_rate": 1.0}
        record |= {
            "alt_test_passed": True,
            "coders": [{"coder": f"c{i}", "rho_f": 0.9, "p": p} for i, p in enumerate(p_values)],
        }
        paths.append(tmp_path / f"{task}.json")
        paths[-1].write_text(json.dumps(record))
    table = coders_table(load_agreement_records(paths)).set_index("task")
    # BY over the six p-values: 0.001 x 6 x 2.45 / 2 = 0.007, 0.002 -> 0.0098, 0.003 -> 0.011
    assert table.loc["a", "alt_test_winning_rate_joint"] == 1.0 and table.loc["a", "alt_test_passed_joint"]
    assert table.loc["b", "alt_test_winning_rate_joint"] == pytest.approx(1 / 3)
    assert not table.loc["b", "alt_test_passed_joint"]
