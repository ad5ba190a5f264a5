"""The report's opening sentences, written from tables built by build_tables: each figure is
the one its table row holds, the sign of a gap turned into what learning from LLM labels
changes, and every interval with its coverage."""

from __future__ import annotations

import pandas as pd
import pytest
from test_tables import gap_rows, intervals_for, records  # noqa: F401 (records is a fixture)

from labeldistill.conditions import parse_condition
from labeldistill.report.answer import answer_sentences
from labeldistill.report.html import render_report
from labeldistill.report.table_records import load_agreement_records
from labeldistill.report.tables import build_tables

CODERS = pd.DataFrame(
    {
        "task": ["task_a", "task_b", "task_c"],
        "labeler": "gemma",
        "alt_test_n_coders": 5,
        "alt_test_epsilon": 0.1,
        "alt_test_winning_rate": [0.6, 0.2, 0.4],
        "alt_test_passed": [True, False, False],
    }
)
CORPUS = {
    "task": "task_a",
    "student": "tfidf-logreg",
    "labeler": "gemma",
    "labels": ["pos", "neg"],
    "positive_label": "pos",
    "n_corpus": 4200,
    "shares": [
        {"label": "pos", "method": "naive", "estimate": 0.15, "low": 0.14, "high": 0.16},
        {"label": "pos", "method": "ppi++", "estimate": 0.256, "low": 0.196, "high": 0.316},
        {"label": "neg", "method": "ppi++", "estimate": 0.744, "low": 0.684, "high": 0.804},
    ],
}


@pytest.fixture
def tables(records):  # noqa: F811
    # the first three tasks of the gap rows are the tasks of the metric records
    gaps = gap_rows().replace({"task": {"task_0": "task_a", "task_1": "task_b", "task_2": "task_c"}})
    built = build_tables(records, load_agreement_records([]), intervals=intervals_for(records), gaps=gaps)
    return {**built, "coders": CODERS}


def test_it_opens_with_the_best_condition_over_tasks(tables):
    sentences = answer_sentences(tables, [CORPUS])
    medians = tables["medians"]
    best = medians.loc[medians["headline_median"].idxmax()]
    assert best["condition"] == "tfidf-logreg@human:250"
    assert sentences[0] == (
        f"Over 3 tasks the best condition is tfidf-logreg trained on 250 human labels "
        f"(median F1 {best['headline_median']:.3f})."
    )


def test_a_gap_reads_as_what_llm_labels_change_with_its_coverage(tables):
    sentences = answer_sentences(tables, [CORPUS])
    median = tables["gaps"].query("task == 'median' and condition_a == 'tfidf-logreg@human:250'").iloc[0]
    over = [s for s in sentences if s.startswith("Over tasks, ")]
    assert over == [
        "Over tasks, tfidf-logreg trained on gemma's labels of 250 coded texts instead of 250 human labels "
        f"changes F1 by {-median['f1_gap']:+.3f} (median over 5 tasks; interval "
        f"{-median['gap_ci_high']:.3f} to {-median['gap_ci_low']:.3f}, which covers the median with "
        f"probability {median['median_ci_coverage']:.2f}; better in 1 of 5 tasks)."
    ]  # the few-shot gap is in the table, not in the answer
    task_a = next(s for s in sentences if s.startswith("task_a: "))
    # task_0's gap of 0.15 (0.05 to 0.25): the LLM-label student scores 0.15 lower
    assert (
        "instead of 250 human labels changes F1 by -0.150 (95% CI -0.250 to -0.050, paired bootstrap)"
        in task_a
    )


def test_each_task_names_its_best_condition_its_coders_and_its_corpus(tables):
    sentences = answer_sentences(tables, [CORPUS])
    assert "gemma could replace a single coder in 1 of 3 tasks (Alternative Annotator Test)." in sentences
    task_a = next(s for s in sentences if s.startswith("task_a: "))
    row = tables["per_task"].query("task == 'task_a' and condition == 'tfidf-logreg@human:250'").iloc[0]
    assert task_a.startswith(
        "task_a: the best condition is tfidf-logreg trained on 250 human labels, "
        f"F1 {row['headline_mean']:.3f} (95% CI {row['headline_ci_low']:.3f} to "
        f"{row['headline_ci_high']:.3f}, over {row['interval_covers']})"
    )
    assert (
        "gemma could replace a single coder (Alternative Annotator Test, epsilon 0.1; winning rate 0.60"
        in task_a
    )
    assert "the share of 'pos' in its corpus of 4,200 texts is 0.256 (95% CI 0.196 to 0.316, PPI++" in task_a
    assert "'neg'" not in task_a  # a task with a positive label: its share alone
    task_b = next(s for s in sentences if s.startswith("task_b: "))
    assert "gemma could not replace a single coder" in task_b and "corpus" not in task_b


def test_one_task_has_no_sentence_over_tasks_and_no_scores_none(records):  # noqa: F811
    one = records[records["task"] == "task_a"]
    sentences = answer_sentences(build_tables(one, load_agreement_records([])))
    assert len(sentences) == 1 and sentences[0].startswith("task_a: the best condition is")
    assert answer_sentences({"per_task": pd.DataFrame()}) == []


def test_the_report_opens_with_the_answer(tables):
    sentences = answer_sentences(tables, [CORPUS])
    page = render_report(tables, {}, answer=sentences)
    assert page.index('<h2 id="answer">The answer</h2>') < page.index('<h2 id="medians">')
    assert "gemma&#39;s labels of 250 coded texts" in page  # escaped like every cell


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ("minilm@human:250", "minilm trained on 250 human labels"),
        ("minilm@gemma:1000", "minilm trained on gemma's labels of 1,000 coded texts"),
        ("minilm@gemma~uncoded:all", "minilm trained on gemma's labels of all uncoded texts"),
        (
            "minilm@human100+gemma:250",
            "minilm trained on 250 coded texts, 100 of them with human labels and the rest gemma's",
        ),
        ("fewshot@gemma", "gemma few-shot"),
    ],
)
def test_a_condition_in_words(condition, words):
    assert parse_condition(condition).description == words
