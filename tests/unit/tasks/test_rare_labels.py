"""A test part too small for a label: the texts needed, the warning at parse time, the notes in
the tables and the report."""

from __future__ import annotations

import math
from fractions import Fraction

import pandas as pd
import pytest

from labeldistill.config.prepare import prepare_config
from labeldistill.report.tables import add_data_notes, data_table, task_facts
from labeldistill.tasks import rare_labels


def needed_by_hand(count: int, n_test: int, target: int = 30) -> int:
    """ceil(target / rate) - n_test at the observed rate, in exact arithmetic."""
    return math.ceil(Fraction(target) / Fraction(count, n_test)) - n_test


@pytest.mark.parametrize(
    ("count", "n_test"), [(5, 200), (1, 200), (7, 200), (29, 100), (3, 17), (12, 12), (30, 200), (45, 200)]
)
def test_more_texts_needed_is_ceil_target_over_rate_minus_the_test_texts(count, n_test):
    assert rare_labels.more_texts_needed(count, n_test) == max(needed_by_hand(count, n_test), 0)


def test_the_issues_case_and_a_label_without_test_texts():
    # 2.3% positives, 200 test texts, 5 positives: 1,200 test texts hold 30 at that rate
    assert rare_labels.more_texts_needed(5, 200) == 1000
    assert rare_labels.more_texts_needed(0, 200) is None
    (row,) = rare_labels.thin_labels({"protest": 5, "other": 195}, 200, ["protest"])
    assert row == {"label": "protest", "count": 5, "rate": 0.025, "more": 1000}
    assert rare_labels.thin_label_note(row, 200) == (
        "only 5 of 200 test texts have label 'protest' (fewer than 30): its F1 interval will be "
        "wide; about 1,000 more human-coded test texts at its observed rate (2.5%) would give 30"
    )
    assert rare_labels.thin_label_notes({"protest": 0}, 200, ["protest"]) == [
        "no test text has label 'protest' (of 200): its F1 is undefined"
    ]
    assert rare_labels.thin_labels({"protest": 30}, 200, ["protest"]) == []


def test_the_labels_a_headline_rests_on():
    assert rare_labels.headline_labels(["a", "b"], "a", "f1") == ["a"]
    assert rare_labels.headline_labels(["a", "b", "c"], "a", "macro_f1") == ["a", "b", "c"]


def test_parse_time_warning_for_a_rare_positive_class(tmp_path):
    # 2.5% positives: a 200-text test part holds 5 of them
    n = 1000
    gold = ["protest" if i % 40 == 0 else "other" for i in range(n)]
    texts = tmp_path / "t.csv"
    pd.DataFrame(
        {"id": [f"i{i}" for i in range(n)], "text": [f"text {i}" for i in range(n)], "label": gold}
    ).to_csv(texts, index=False)
    codebook = tmp_path / "c.md"
    codebook.write_text("Is it about a protest? protest: it is; other: it is not.")
    task = {
        "texts": str(texts),
        "codebook": str(codebook),
        "labels": ["protest", "other"],
        "positive_label": "protest",
    }
    cfg = {
        "tasks": {"p": task},
        "labelers": {"llm": {"backend": "local", "model": "gemma3-270m"}},
        "students": {"s": {"kind": "tfidf-logreg"}},
        "split": {"test": 200, "val": 100},
    }
    warnings = prepare_config(cfg, tmp_path / "checks")
    assert warnings == [
        "tasks.p: only 5 of 200 test texts have label 'protest' (fewer than 30): its F1 interval will be "
        "wide; about 1,000 more human-coded test texts at its observed rate (2.5%) would give 30; a task's "
        "own split (tasks.p.split.test) can hold out more"
    ]
    # the task's own larger test part: 1,200 texts hold 30 positives, and the warning is gone
    cfg = {
        "tasks": {"p": {**task, "split": {"test": 800, "val": 50}}},
        "labelers": {"llm": {"backend": "local", "model": "gemma3-270m"}},
        "students": {"s": {"kind": "tfidf-logreg"}},
        "split": {"test": 200, "val": 100},
    }
    warnings = prepare_config(cfg, tmp_path / "checks")
    assert (
        len(warnings) == 1 and "only 20 of 800 test texts" in warnings[0] and "about 400 more" in warnings[0]
    )


def summary(task, counts, headline="f1", positive="protest", group=None):
    n = sum(counts.values())
    return {
        "task": task,
        "task_group": group or task,
        "labels": list(counts),
        "headline": headline,
        "positive_label": positive,
        "split": {"seed": 7, "test": n, "val": 10, "pool": None},
        "n_texts": 500,
        "parts": {
            "pool": {"n": 400, "label_counts": {}},
            "val": {"n": 10, "label_counts": {}},
            "test": {"n": n, "label_counts": counts},
        },
        "duplicates": {},
    }


def test_the_data_table_notes_a_thin_label_per_task():
    summaries = [
        summary("p", {"protest": 5, "other": 195}),
        summary("tone", {"negative": 40, "neutral": 12, "positive": 48}, "macro_f1", "negative"),
        summary("ok", {"protest": 60, "other": 140}),
    ]
    facts = task_facts(summaries)
    table = add_data_notes(data_table(summaries), facts).set_index("task")
    assert table.loc["p", "test_note"] == "protest: 5 in test, ~1,000 more texts for 30"
    # macro-F1 rests on every label: neutral is the thin one (12 of 100: ceil(30 / 0.12) - 100)
    assert table.loc["tone", "test_note"] == "neutral: 12 in test, ~150 more texts for 30"
    assert table.loc["ok", "test_note"] == ""
    assert table.loc["tone", "test_label_counts"] == "negative 40, neutral 12, positive 48"
    assert table.loc["p", "split_seed"] == 7
    assert facts["p"]["notes"] == [
        "only 5 of 200 test texts have label 'protest' (fewer than 30): its F1 interval will be "
        "wide; about 1,000 more human-coded test texts at its observed rate (2.5%) would give 30"
    ]
