"""Tables from a hand-built set of metric records: every value checked."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from labeldistill.errors import LabelDistillError
from labeldistill.tables import (
    GAP_FEWSHOT,
    GAP_HUMAN,
    agreement_table,
    build_tables,
    gaps_table,
    load_agreement_records,
    load_metric_records,
    medians_table,
    metric_record,
    parse_condition,
    per_task_table,
    to_latex,
    to_markdown,
    write_tables,
)

# (task, condition, seed, f1); precision = f1 + 0.1, recall = f1 - 0.1, accuracy = 0.9
RUNS = [
    ("task_a", "tfidf-logreg@human", 0, 0.6),
    ("task_a", "tfidf-logreg@human", 1, 0.8),
    ("task_a", "tfidf-logreg@gemma", 0, 0.5),
    ("task_a", "tfidf-logreg@gemma", 1, 0.6),
    ("task_a", "fewshot@gemma", None, 0.58),
    ("task_a", "minilm@gemma", 0, 0.6),
    ("task_b", "tfidf-logreg@human", 0, 0.4),
    ("task_b", "tfidf-logreg@human", 1, 0.4),
    ("task_b", "tfidf-logreg@gemma", 0, 0.3),
    ("task_b", "tfidf-logreg@gemma", 1, 0.5),
    ("task_b", "fewshot@gemma", None, 0.2),
    ("task_c", "tfidf-logreg@human", 0, 0.9),
    ("task_c", "tfidf-logreg@gemma", 0, 0.7),
]


def metric_json(task, condition, seed, f1):
    kind, student, labeler = parse_condition(condition)
    return {
        "task": task,
        "condition": condition,
        "kind": kind,
        "student": student,
        "labeler": labeler,
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
    assert parse_condition("tfidf-logreg@human") == ("student", "tfidf-logreg", "human")
    assert parse_condition("fewshot@gemma") == ("fewshot", None, "gemma")
    with pytest.raises(LabelDistillError, match="student@labeler"):
        parse_condition("tfidf-logreg")


def test_per_task_means_sds_and_order(records):
    table = per_task_table(records)
    assert len(table) == 9
    a_human = row(table, task="task_a", condition="tfidf-logreg@human")
    assert a_human["n_seeds"] == 2
    assert a_human["f1_mean"] == pytest.approx(0.7)
    assert a_human["f1_sd"] == pytest.approx(math.sqrt(0.02))  # sample sd of (0.6, 0.8)
    assert a_human["precision_mean"] == pytest.approx(0.8)
    assert a_human["recall_mean"] == pytest.approx(0.6)
    assert a_human["accuracy_mean"] == pytest.approx(0.9) and a_human["accuracy_sd"] == 0
    assert (a_human["f1_ci_low"], a_human["f1_ci_high"]) == pytest.approx((0.6, 0.8))
    b_human = row(table, task="task_b", condition="tfidf-logreg@human")
    assert b_human["f1_sd"] == 0.0
    few = row(table, task="task_a", condition="fewshot@gemma")
    assert few["n_seeds"] == 1 and math.isnan(few["f1_sd"]) and few["f1_mean"] == 0.58
    assert few["kind"] == "fewshot" and few["n_failed_mean"] == 2
    assert math.isnan(row(table, task="task_c", condition="tfidf-logreg@human")["f1_sd"])
    # tasks in order; within a task: human-label students, LLM-label students, few-shot
    assert table.loc[table["task"] == "task_a", "condition"].tolist() == [
        "tfidf-logreg@human",
        "minilm@gemma",
        "tfidf-logreg@gemma",
        "fewshot@gemma",
    ]
    assert table["task"].tolist() == sorted(table["task"])


def test_medians(records):
    table = medians_table(per_task_table(records))
    assert table["condition"].tolist() == [
        "tfidf-logreg@human",
        "minilm@gemma",
        "tfidf-logreg@gemma",
        "fewshot@gemma",
    ]
    human = row(table, condition="tfidf-logreg@human")
    assert human["n_tasks"] == 3
    assert human["f1_median"] == pytest.approx(0.7)  # of 0.7, 0.4, 0.9
    assert human["precision_median"] == pytest.approx(0.8)
    assert human["recall_median"] == pytest.approx(0.6)
    llm = row(table, condition="tfidf-logreg@gemma")
    assert llm["f1_median"] == pytest.approx(0.55)  # of 0.55, 0.4, 0.7
    few = row(table, condition="fewshot@gemma")
    assert (few["n_tasks"], few["f1_median"]) == (2, pytest.approx(0.39))
    assert row(table, condition="minilm@gemma")["n_tasks"] == 1


def test_gaps(records):
    table = gaps_table(per_task_table(records))
    human = table[(table["comparison"] == GAP_HUMAN) & (table["student"] == "tfidf-logreg")]
    assert human["task"].tolist() == ["task_a", "task_b", "task_c", "median"]
    assert human["f1_gap"].tolist() == pytest.approx([0.15, 0.0, 0.2, 0.15])
    median = row(human, task="median")
    assert median["n_tasks"] == 3
    assert (median["f1_a"], median["f1_b"]) == pytest.approx((0.7, 0.55))
    assert median["condition_a"] == "tfidf-logreg@human"
    assert median["condition_b"] == "tfidf-logreg@gemma"
    # minilm has no human-label run: no human gap for it
    assert not ((table["comparison"] == GAP_HUMAN) & (table["student"] == "minilm")).any()
    few = table[(table["comparison"] == GAP_FEWSHOT) & (table["student"] == "tfidf-logreg")]
    assert few["task"].tolist() == ["task_a", "task_b", "median"]  # task_c has no few-shot
    assert few["f1_gap"].tolist() == pytest.approx([0.03, -0.2, -0.085])
    assert row(few, task="median")["n_tasks"] == 2
    mini = table[(table["comparison"] == GAP_FEWSHOT) & (table["student"] == "minilm")]
    assert mini["f1_gap"].tolist() == pytest.approx([-0.02, -0.02])
    assert mini["condition_a"].iloc[0] == "fewshot@gemma"


def test_agreement_table_drops_human_and_sorts(tmp_path):
    paths = []
    for task, labeler, accuracy in [
        ("t2", "gemma", 0.8),
        ("t1", "smol", 0.6),
        ("t1", "gemma", 0.7),
        ("t1", "human", 1.0),
    ]:
        path = tmp_path / f"{task}-{labeler}.json"
        path.write_text(
            json.dumps(
                {
                    "task": task,
                    "labeler": labeler,
                    "accuracy": accuracy,
                    "n": 50,
                    "cohen_kappa": 0.5,
                    "human_human_alpha": None,
                }
            )
        )
        paths.append(path)
    table = agreement_table(load_agreement_records(paths))
    assert list(zip(table["task"], table["labeler"], strict=True)) == [
        ("t1", "gemma"),
        ("t1", "smol"),
        ("t2", "gemma"),
    ]
    assert table["accuracy"].tolist() == [0.7, 0.6, 0.8]
    assert table["human_human_alpha"].isna().all()


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
    with pytest.raises(LabelDistillError, match=r"bad\.json.*missing key"):
        load_metric_records([bad])


def test_writers_round_and_escape(records, tmp_path):
    tables = build_tables(records, load_agreement_records([]))
    written = write_tables(tables, tmp_path / "tables")
    assert {p.name for p in written} == {
        f"{name}.{ext}"
        for name in ("per_task", "medians", "gaps", "agreement")
        for ext in ("csv", "md", "tex")
    }
    csv = pd.read_csv(tmp_path / "tables" / "per_task.csv")
    assert csv["f1_mean"].tolist() == pytest.approx(tables["per_task"]["f1_mean"].tolist())
    md = (tmp_path / "tables" / "per_task.md").read_text()
    assert md.splitlines()[0].startswith("| Task")
    assert "| task_a " in md and "tfidf-logreg@human" in md
    assert "0.141" in md and "0.1414" not in md  # three decimals
    medians_md = to_markdown(tables["medians"], "medians")
    assert "Median F1" in medians_md and "0.390" in medians_md
    tex = to_latex(tables["per_task"], "per_task")
    assert "task\\_a" in tex and "\\toprule" in tex and "\\bottomrule" in tex
    assert tex.count("\\\\") == len(tables["per_task"]) + 1
    gaps_md = (tmp_path / "tables" / "gaps.md").read_text()
    assert "-0.085" in gaps_md and "F1 gap (A - B)" in gaps_md
    # an empty agreement table still has its header
    assert "Krippendorff" in (tmp_path / "tables" / "agreement.md").read_text()
