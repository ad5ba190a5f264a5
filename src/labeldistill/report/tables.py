"""The paper's tables from the metric and agreement JSON records.

Pure functions turn records (one row per metrics file) into the four tables; writers put each
table out as CSV (full precision, machine-readable snake_case columns) and as Markdown and
LaTeX (display names, 3 decimals, empty cells for undefined values).

Tables:
- per_task: task x condition, mean and sd over seeds of F1, precision, recall, accuracy, with
  a 95% interval of the seed-mean F1 that covers test-text sampling and seed variation (from
  the compare stage), the predicted share of the positive label beside the human one, and
  calibration (Brier score, expected calibration error).
- medians: condition, medians over tasks of the per-task means (PAPER.md's headline table).
- gaps: the paired F1 gaps of PAPER.md per task with paired-bootstrap intervals and p-values,
  and per comparison the median over tasks with its interval, a Wilcoxon signed-rank test and
  the count of tasks where each side wins.
- agreement: task x LLM labeler, the validation step's agreement with the human labels (the
  positive label's F1 and macro-F1 side by side, the task's headline named); for an ensemble
  labeler also the mean pairwise kappa among its members.
- coders: task x LLM labeler, the like-for-like human baseline: single coders against the
  gold recomputed without them, beside the LLM (both F1s), and the Alternative Annotator Test.
- data: task, the sizes of its parts, its human prevalence and its duplicate texts, the split's
  seed, the test texts per label and a note where a label is too thin in the test part.
- per_class: tasks scored by macro-F1 (more than two labels, or no positive label named) x
  condition x label: precision, recall, F1 (mean over seeds) and the label's test texts.

Every task has a headline metric (`conditions.headline_metric`): the positive label's F1, or
macro-F1. per_task, medians and gaps name it (`headline`, `metric`) and give its value; medians
and the median gaps are taken over the tasks of one headline only. Tasks expanded from one
`one_vs_rest` task carry its name in `task_group` and sit together. Where a label the headline
rests on has fewer than 30 test texts, per_task and data say so in `test_note`
(`rare_labels`).
- corpus: task x label x method (and x covariate level), the share of the label in the task's
  corpus with its 95% interval (naive, human-only, PPI++), the effective number of human
  labels and the human texts a +- half_width interval needs (the planner).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from labeldistill.conditions import GAP_FEWSHOT, GAP_HUMAN, HUMAN, parse_condition
from labeldistill.contracts import (
    AGREEMENT,
    COMPARISONS,
    CORPUS_ESTIMATES,
    METRICS,
    SPLIT_SUMMARY,
    read_record,
)
from labeldistill.errors import LabelDistillError
from labeldistill.report.label_budget import label_budget_table
from labeldistill.report.usage import COST_DISPLAY, COUNTS, cost_table
from labeldistill.stats.intervals import median_gap_summary
from labeldistill.tasks.rare_labels import headline_labels, thin_label_note, thin_labels

MEASURES = ("f1", "precision", "recall", "accuracy", "macro_f1")
CALIBRATION = ("positive_rate", "human_positive_rate", "brier", "ece")
MEDIAN_ROW = "median"

RECORD_COLUMNS = [
    "task",
    "condition",
    "kind",
    "student",
    "labeler",
    "train_size",
    "seed",
    "shots_seed",
    "n",
    "n_failed",
    *MEASURES,
    "f1_ci_low",
    "f1_ci_high",
    *CALIBRATION,
    "headline",
    "macro_precision",
    "macro_recall",
    "per_class",
    "source",
]
PER_TASK_COLUMNS = [
    "task",
    "condition",
    "kind",
    "student",
    "labeler",
    "train_size",
    "n_seeds",
    "n_prompts",
    "interval_covers",
    "f1_mean",
    "f1_sd",
    "f1_ci_low",
    "f1_ci_high",
    "precision_mean",
    "precision_sd",
    "recall_mean",
    "recall_sd",
    "accuracy_mean",
    "accuracy_sd",
    "macro_f1_mean",
    "macro_f1_sd",
    "f1_se_test",
    "positive_rate_mean",
    "human_positive_rate",
    "brier_mean",
    "ece_mean",
    "n_test",
    "n_positive",
    "n_failed_mean",
]
MEDIANS_COLUMNS = [
    "condition",
    "kind",
    "student",
    "labeler",
    "train_size",
    "n_tasks",
    "f1_median",
    "precision_median",
    "recall_median",
    "accuracy_median",
]
GAPS_COLUMNS = [
    "comparison",
    "student",
    "labeler",
    "task",
    "condition_a",
    "condition_b",
    "f1_a",
    "f1_b",
    "f1_gap",
    "gap_ci_low",
    "gap_ci_high",
    "p_value",
    "median_ci_coverage",
    "wilcoxon_p",
    "n_a_better",
    "n_b_better",
    "n_tasks",
]
PAPER_COLUMNS = [
    "section",
    "row",
    "metric",
    "score",
    "precision",
    "recall",
    "ci_low",
    "ci_high",
    "wilcoxon_p",
    "n_tasks",
]
AGREEMENT_COLUMNS = [
    "task",
    "labeler",
    "n",
    "n_failed",
    "headline",
    "accuracy",
    "f1",
    "precision",
    "recall",
    "macro_f1",
    "cohen_kappa",
    "krippendorff_alpha",
    "positive_rate",
    "human_positive_rate",
    "mean_label_probability",
    "mean_consistency",
    "share_consistency_1",
    "coders_pairwise_alpha",
    "n_coders_median",
    "members_pairwise_kappa",
]
CODERS_COLUMNS = [
    "task",
    "labeler",
    "n_coders_scored",
    "coder_accuracy_median",
    "coder_f1_median",
    "coder_macro_f1_median",
    "coder_kappa_median",
    "coder_kappa_q25",
    "coder_kappa_q75",
    "accuracy",
    "f1",
    "macro_f1",
    "cohen_kappa",
    "alt_test_n_coders",
    "alt_test_epsilon",
    "alt_test_advantage",
    "alt_test_winning_rate",
    "alt_test_passed",
]
DATA_COLUMNS = [
    "task",
    "n_texts",
    "n_pool",
    "n_val",
    "n_test",
    "n_test_positive",
    "human_positive_rate_test",
    "n_duplicate_groups",
    "n_texts_in_duplicate_groups",
    "n_groups_with_conflicting_labels",
]

# Added to per_task, medians, gaps and data by the headline and thin-label functions below.
HEADLINE_COLUMNS = [
    "task_group",
    "headline",
    "headline_mean",
    "headline_sd",
    "headline_ci_low",
    "headline_ci_high",
    "macro_precision_mean",
    "macro_recall_mean",
    "test_note",
]
PER_CLASS_COLUMNS = [
    "task_group",
    "task",
    "condition",
    "kind",
    "student",
    "labeler",
    "label",
    "n_seeds",
    "precision_mean",
    "recall_mean",
    "f1_mean",
    "f1_sd",
    "support",
    "human_share",
    "predicted_share_mean",
]
DATA_NOTE_COLUMNS = ["task_group", "split_seed", "test_label_counts", "test_note"]

CORPUS_COLUMNS = [
    "task",
    "student",
    "labeler",
    "label",
    "covariate",
    "level",
    "method",
    "estimate",
    "ci_low",
    "ci_high",
    "se",
    "lambda",
    "n_labelled",
    "n_corpus",
    "n_texts",
    "n_quoted",
    "effective_labels",
    "half_width",
    "labelled_needed",
]

# What the Markdown, LaTeX and HTML versions show, under which heading.
DISPLAY = {
    "cost": COST_DISPLAY,
    "cost_estimate": {
        "task": "Task",
        "labeler": "LLM labeler",
        "model": "Model",
        "api": "API",
        "requests": "Requests to send",
        "cached_requests": "Cached",
        "truncated_texts": "Truncated texts",
        "prompt_tokens": "Prompt tokens",
        "max_output_tokens": "Output tokens (max)",
        "dollars_max": "Dollars (max)",
        "token_method": "Tokens counted by",
    },
    "codebook_check": {
        "task": "Task",
        "labeler": "LLM labeler",
        "n_texts": "Val texts",
        "valid_share": "Valid answers",
        "accuracy": "Accuracy (val sample)",
        "n_quoted": "Quoted examples",
        "quoted_accuracy": "Accuracy on quoted examples",
        "flip_examples_order": "Flips, examples reordered",
        "flip_examples_order_ci_low": "Examples reordered: 95% CI low",
        "flip_examples_order_ci_high": "Examples reordered: 95% CI high",
        "flip_label_order": "Flips, labels reordered",
        "flip_label_order_ci_low": "Labels reordered: 95% CI low",
        "flip_label_order_ci_high": "Labels reordered: 95% CI high",
        "verdict": "Verdict",
    },
    "per_task": {
        "task_group": "Task group",
        "task": "Task",
        "condition": "Condition",
        "n_seeds": "Seeds",
        "n_prompts": "Prompts",
        "interval_covers": "95% CI covers",
        "headline": "Headline",
        "headline_mean": "Headline score",
        "headline_ci_low": "Headline 95% CI low",
        "headline_ci_high": "Headline 95% CI high",
        "f1_mean": "F1",
        "f1_sd": "F1 sd",
        "f1_ci_low": "F1 95% CI low",
        "f1_ci_high": "F1 95% CI high",
        "precision_mean": "Precision",
        "recall_mean": "Recall",
        "accuracy_mean": "Accuracy",
        "positive_rate_mean": "Predicted positive share",
        "human_positive_rate": "Human positive share",
        "brier_mean": "Brier",
        "ece_mean": "ECE",
        "macro_f1_mean": "Macro-F1",
        "n_test": "Test texts",
        "n_positive": "Test positives",
        "test_note": "Note",
    },
    "per_class": {
        "task": "Task",
        "condition": "Condition",
        "label": "Label",
        "n_seeds": "Seeds",
        "precision_mean": "Precision",
        "recall_mean": "Recall",
        "f1_mean": "F1",
        "f1_sd": "F1 sd",
        "support": "Test texts",
        "human_share": "Human share",
        "predicted_share_mean": "Predicted share",
    },
    "medians": {
        "condition": "Condition",
        "headline": "Headline",
        "n_tasks": "Tasks",
        "headline_median": "Median headline score",
        "f1_median": "Median F1",
        "precision_median": "Median precision",
        "recall_median": "Median recall",
        "accuracy_median": "Median accuracy",
        "macro_f1_median": "Median macro-F1",
    },
    "gaps": {
        "comparison": "Comparison",
        "metric": "Metric",
        "task_group": "Task group",
        "task": "Task",
        "condition_a": "Condition A",
        "condition_b": "Condition B",
        "f1_a": "Score A",
        "f1_b": "Score B",
        "f1_gap": "Gap (A - B)",
        "gap_ci_low": "Gap 95% CI low",
        "gap_ci_high": "Gap 95% CI high",
        "p_value": "p (gap = 0)",
        "wilcoxon_p": "Wilcoxon p",
        "n_a_better": "Tasks A better",
        "n_b_better": "Tasks B better",
        "n_tasks": "Tasks",
    },
    "label_budget": {
        "task": "Task",
        "student": "Student",
        "labeler": "Trained on",
        "train_size": "Training texts",
        "n_human_labels": "Human labels",
        "n_llm_labels": "LLM labels",
        "metric": "Score",
        "n_seeds": "Seeds",
        "f1_mean": "F1",
        "f1_sd": "F1 sd (seeds)",
        "f1_min": "F1 min",
        "f1_max": "F1 max",
        "f1_ci_low": "F1 95% CI low",
        "f1_ci_high": "F1 95% CI high",
        "dollars": "Label cost ($)",
    },
    "paper": {
        "section": "",
        "row": "Condition",
        "metric": "Score",
        "score": "Median",
        "precision": "Precision",
        "recall": "Recall",
        "ci_low": "95% CI low",
        "ci_high": "95% CI high",
        "wilcoxon_p": "Wilcoxon p",
        "n_tasks": "Tasks",
    },
    "agreement": {
        "task": "Task",
        "labeler": "LLM labeler",
        "n": "Texts",
        "n_failed": "Failed",
        "headline": "Headline",
        "accuracy": "Accuracy",
        "f1": "F1 (positive label)",
        "precision": "Precision",
        "recall": "Recall",
        "macro_f1": "Macro-F1",
        "cohen_kappa": "Cohen's kappa",
        "krippendorff_alpha": "Krippendorff's alpha",
        "positive_rate": "LLM positive share",
        "human_positive_rate": "Human positive share",
        "mean_label_probability": "Mean label probability",
        "mean_consistency": "Mean consistency",
        "share_consistency_1": "Share fully consistent",
        "coders_pairwise_alpha": "Pairwise alpha among single coders",
        "members_pairwise_kappa": "Pairwise kappa among members",
    },
    "coders": {
        "task": "Task",
        "labeler": "LLM labeler",
        "n_coders_scored": "Coders",
        "coder_accuracy_median": "Coder accuracy (median)",
        "coder_f1_median": "Coder F1 (median)",
        "coder_macro_f1_median": "Coder macro-F1 (median)",
        "coder_kappa_median": "Coder kappa (median)",
        "coder_kappa_q25": "Coder kappa q25",
        "coder_kappa_q75": "Coder kappa q75",
        "accuracy": "LLM accuracy",
        "f1": "LLM F1",
        "macro_f1": "LLM macro-F1",
        "cohen_kappa": "LLM kappa",
        "alt_test_epsilon": "Epsilon",
        "alt_test_advantage": "LLM advantage probability",
        "alt_test_winning_rate": "Winning rate",
        "alt_test_passed": "LLM can replace a coder",
    },
    "corpus": {
        "task": "Task",
        "student": "Student",
        "labeler": "Trained on",
        "label": "Label",
        "covariate": "Covariate",
        "level": "Level",
        "method": "Method",
        "estimate": "Share",
        "ci_low": "95% CI low",
        "ci_high": "95% CI high",
        "n_labelled": "Human texts",
        "n_corpus": "Corpus texts",
        "effective_labels": "Effective human labels",
        "labelled_needed": "Human texts for +-half width",
    },
    "data": {
        "task_group": "Task group",
        "task": "Task",
        "n_texts": "Texts",
        "n_pool": "Pool",
        "n_val": "Val",
        "n_test": "Test",
        "n_test_positive": "Test positives",
        "human_positive_rate_test": "Positive share (test)",
        "n_duplicate_groups": "Duplicate groups",
        "n_texts_in_duplicate_groups": "Texts with a twin",
        "n_groups_with_conflicting_labels": "Twins with conflicting labels",
        "split_seed": "Split seed",
        "test_label_counts": "Test texts per label",
        "test_note": "Note",
    },
}
COUNT_COLUMNS = {
    "n_seeds",
    "n_prompts",
    "n_human_labels",
    "n_llm_labels",
    "n_positive",
    "n_a_better",
    "n_b_better",
    "n_coders_scored",
    "alt_test_n_coders",
    *[c for c in DATA_COLUMNS if c.startswith("n_")],
    "n_tasks",
    "n",
    "n_failed",
    "n_test",
    "n_failed_mean",
    "n_coders_median",
    "seed",
    "n_labelled",
    "n_corpus",
    "labelled_needed",
    "effective_labels",  # a count of labels, one decimal where fractional
    "support",
    "split_seed",
    *COUNTS,
}


# ---- conditions ------------------------------------------------------------------------
def sort_conditions(frame: pd.DataFrame, first: Sequence[str] = ()) -> pd.DataFrame:
    """Sort by the `first` columns, then in display order (`Condition.sort_key`: human-label,
    augmented, LLM-label students, few-shot; then student, labeler and size)."""
    order = {name: parse_condition(name).sort_key for name in frame["condition"].unique()}
    ranked = {name: i for i, name in enumerate(sorted(order, key=order.get))}
    keyed = frame.assign(_order=frame["condition"].map(ranked))
    keyed = keyed.sort_values([*first, "_order"], kind="stable")
    return keyed.drop(columns=["_order"]).reset_index(drop=True)


def condition_order(frame: pd.DataFrame) -> list[str]:
    """The conditions present in `frame`, in display order."""
    unique = frame.drop_duplicates("condition")[["condition", "kind", "student", "labeler"]]
    return sort_conditions(unique)["condition"].tolist()


# ---- records ---------------------------------------------------------------------------
def _number(value) -> float:
    return math.nan if value is None else float(value)


def metric_record(data: dict, source: str = "") -> dict:
    """One flat row from an evaluate JSON (see stages.evaluate)."""
    METRICS.check(data, source or "metrics record")
    condition = parse_condition(data["condition"])
    ci = (data.get("ci") or {}).get("f1") or [None, None]
    seed = data.get("seed")
    return {
        "task": str(data["task"]),
        "condition": str(data["condition"]),
        "kind": data.get("kind") or condition.kind,
        "student": data.get("student", condition.student),
        "labeler": data.get("labeler") or condition.labeler,
        "train_size": data.get("train_size") or condition.size,
        "seed": None if seed is None else int(seed),
        "shots_seed": data.get("shots_seed"),
        "n": data.get("n"),
        "n_failed": data.get("n_failed"),
        **{name: _number(data.get(name)) for name in MEASURES},
        "f1_ci_low": _number(ci[0]),
        "f1_ci_high": _number(ci[1]),
        **{name: _number(data.get(name)) for name in CALIBRATION},
        "headline": data.get("headline") or "f1",  # records before the headline: positive F1
        "macro_precision": _number(data.get("macro_precision")),
        "macro_recall": _number(data.get("macro_recall")),
        "per_class": data.get("per_class") or [],
        "source": source,
    }


def load_metric_records(files: Iterable[Path]) -> pd.DataFrame:
    """One row per metrics JSON; a (task, condition, seed) found twice is an error."""
    rows = [metric_record(read_record(path, METRICS), str(path)) for path in files]
    frame = pd.DataFrame(rows, columns=RECORD_COLUMNS)
    frame[["seed", "shots_seed"]] = frame[["seed", "shots_seed"]].astype("Int64")
    frame[["n", "n_failed"]] = frame[["n", "n_failed"]].apply(pd.to_numeric, errors="coerce")
    twice = frame.duplicated(["task", "condition", "seed"], keep=False)
    if twice.any():
        sources = frame.loc[twice, "source"].tolist()
        raise LabelDistillError(f"metrics files describe the same task, condition and seed: {sources}")
    return frame


def load_metric_json(files: Iterable[Path]) -> list[dict]:
    """The metrics JSONs as they are (for figures that need more than the flat row)."""
    return [read_record(path, METRICS) for path in files]


def load_agreement_records(files: Iterable[Path]) -> pd.DataFrame:
    """One row per agreement JSON (see stages.agreement), with the coder baseline's keys."""
    columns = list(dict.fromkeys(AGREEMENT_COLUMNS + CODERS_COLUMNS))
    rows = []
    for path in files:
        data = read_record(path, AGREEMENT)
        if data.get("coders_pairwise_alpha") is None and "human_human_alpha" in data:
            data["coders_pairwise_alpha"] = data["human_human_alpha"]  # records before the rename
        data.setdefault("headline", "f1")  # records before multi-category headlines
        rows.append({column: data.get(column) for column in columns})
    frame = pd.DataFrame(rows, columns=columns)
    numeric = [c for c in columns if c not in ("task", "labeler", "headline", "alt_test_passed")]
    frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="coerce")
    return frame


def load_comparisons(files: Iterable[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(intervals: task x condition x metric, gaps: one row per task and paired comparison)."""
    intervals, gaps = [], []
    for path in files:
        data = read_record(path, COMPARISONS)
        for condition in data["conditions"]:
            for metric, values in condition["metrics"].items():
                intervals.append(
                    {
                        "task": data["task"],
                        "condition": condition["condition"],
                        "metric": metric,
                        "n_positive": data.get("n_positive"),
                        **{key: _number(values.get(key)) for key in INTERVAL_KEYS},
                    }
                )
        for gap in data["gaps"]:
            gaps.append({"task": data["task"], **gap})
    interval_frame = pd.DataFrame(
        intervals, columns=["task", "condition", "metric", "n_positive", *INTERVAL_KEYS]
    )
    return interval_frame, pd.DataFrame(gaps)


def load_split_summaries(files: Iterable[Path]) -> list[dict]:
    return [read_record(path, SPLIT_SUMMARY) for path in files]


def load_corpus_estimates(files: Iterable[Path]) -> list[dict]:
    return [read_record(path, CORPUS_ESTIMATES) for path in files]


INTERVAL_KEYS = ("estimate", "low", "high", "se_test", "sd_seeds", "df")


# ---- tables ----------------------------------------------------------------------------
def interval_covers(kind: str, n_seeds: int, n_prompts: int) -> str:
    """What a condition's interval covers besides the sampling of the test texts."""
    covered = ["test texts"]
    if kind != "fewshot" and n_seeds > 1:
        covered.append("seeds")
    if n_prompts > 1:
        covered.append("prompts")
    return " + ".join(covered)


def per_task_table(records: pd.DataFrame, intervals: pd.DataFrame | None = None) -> pd.DataFrame:
    """Task x condition: mean and sample sd over seeds (sd empty for a single run).

    The F1 interval is that of the seed-mean from the compare stage (`intervals`): it covers
    test-text sampling and seed variation. Without `intervals` it stays empty rather than
    averaging per-seed intervals, which is no interval for the mean.
    """
    if records.empty:
        return pd.DataFrame(columns=PER_TASK_COLUMNS)
    keys = ["task", "condition"]
    grouped = records.groupby(keys, sort=False)
    table = grouped[["kind", "student", "labeler", "train_size"]].first()
    table["n_seeds"] = grouped.size()
    table["n_prompts"] = grouped["shots_seed"].nunique().clip(lower=1)
    table["interval_covers"] = [
        interval_covers(kind, seeds, prompts)
        for kind, seeds, prompts in zip(table["kind"], table["n_seeds"], table["n_prompts"], strict=True)
    ]
    for name in MEASURES:
        table[f"{name}_mean"] = grouped[name].mean()
        table[f"{name}_sd"] = grouped[name].std(ddof=1)
    for name in ("positive_rate", "brier", "ece"):
        table[f"{name}_mean"] = grouped[name].mean()
    table["human_positive_rate"] = grouped["human_positive_rate"].first()
    table["n_test"] = grouped["n"].first()
    table["n_failed_mean"] = grouped["n_failed"].mean()
    table = table.reset_index()
    f1 = (
        intervals[intervals["metric"] == "f1"].set_index(keys)
        if intervals is not None and len(intervals)
        else pd.DataFrame(columns=[*INTERVAL_KEYS, "n_positive"])
    )
    index = pd.MultiIndex.from_frame(table[keys])
    table["f1_ci_low"] = f1["low"].reindex(index).to_numpy()
    table["f1_ci_high"] = f1["high"].reindex(index).to_numpy()
    table["f1_se_test"] = f1["se_test"].reindex(index).to_numpy()
    table["n_positive"] = f1["n_positive"].reindex(index).to_numpy()
    return sort_conditions(table, first=["task"])[PER_TASK_COLUMNS]


def medians_table(per_task: pd.DataFrame) -> pd.DataFrame:
    """Per condition, the median over tasks of the per-task mean F1, precision, recall."""
    if per_task.empty:
        return pd.DataFrame(columns=MEDIANS_COLUMNS)
    grouped = per_task.groupby("condition", sort=False)
    table = grouped[["kind", "student", "labeler", "train_size"]].first()
    table["n_tasks"] = grouped["task"].nunique()
    for name in ("f1", "precision", "recall", "accuracy"):
        table[f"{name}_median"] = grouped[f"{name}_mean"].median()
    return sort_conditions(table.reset_index())[MEDIANS_COLUMNS]


def gaps_table(gaps: pd.DataFrame) -> pd.DataFrame:
    """PAPER.md's paired F1 gaps, per task and as the median over tasks.

    Per task (rows from the compare stage): F1 of A and B (seed means), the gap A - B with its
    paired-bootstrap 95% interval and p-value. Per comparison, a `median` row: the medians over
    tasks of F1 A, F1 B and of the gap itself (which need not equal the difference of the
    medians), the distribution-free interval of the median gap (its exact coverage in
    `median_ci_coverage`: with few tasks it is the range and covers less than 95%), the
    Wilcoxon signed-rank p-value and how many tasks each side wins.
    """
    if gaps is None or gaps.empty:
        return pd.DataFrame(columns=GAPS_COLUMNS)
    rows = []
    keys = ["comparison", "student", "labeler", "condition_a", "condition_b"]
    for base_values, group in gaps.groupby(keys, sort=False):
        base = dict(zip(keys, base_values, strict=True))
        group = group.sort_values("task")
        a_values = group["estimate_a"].to_numpy(dtype=float)
        b_values = group["estimate_b"].to_numpy(dtype=float)
        for row in group.itertuples(index=False):
            rows.append(
                {
                    **base,
                    "task": row.task,
                    "f1_a": row.estimate_a,
                    "f1_b": row.estimate_b,
                    "f1_gap": row.estimate,
                    "gap_ci_low": row.low,
                    "gap_ci_high": row.high,
                    "p_value": row.p_value,
                }
            )
        summary = median_gap_summary(group["estimate"].to_numpy(dtype=float))
        rows.append(
            {
                **base,
                "task": MEDIAN_ROW,
                "f1_a": float(np.median(a_values)),
                "f1_b": float(np.median(b_values)),
                "f1_gap": summary["median"],
                "gap_ci_low": summary["low"],
                "gap_ci_high": summary["high"],
                "median_ci_coverage": summary["coverage"],
                "wilcoxon_p": summary["wilcoxon_p"],
                "n_a_better": summary["n_a_better"],
                "n_b_better": summary["n_b_better"],
                "n_tasks": summary["n_tasks"],
            }
        )
    table = pd.DataFrame(rows, columns=GAPS_COLUMNS)
    order = {name: i for i, name in enumerate((GAP_HUMAN, GAP_FEWSHOT))}
    return table.sort_values(
        ["comparison", "student", "labeler"],
        key=lambda c: c.map(order) if c.name == "comparison" else c,
        kind="stable",
    ).reset_index(drop=True)


def agreement_table(records: pd.DataFrame) -> pd.DataFrame:
    """Task x LLM labeler: the validation step's agreement with the human labels."""
    table = records[records["labeler"] != HUMAN] if len(records) else records
    return table.sort_values(["task", "labeler"]).reset_index(drop=True)[AGREEMENT_COLUMNS]


def coders_table(records: pd.DataFrame) -> pd.DataFrame:
    """Task x LLM labeler: single coders against the gold without them, beside the LLM against
    the gold, and the Alternative Annotator Test; only tasks with coder labels."""
    if records.empty:
        return pd.DataFrame(columns=CODERS_COLUMNS)
    table = records[(records["labeler"] != HUMAN) & records["n_coders_scored"].fillna(0).gt(0)]
    return table.sort_values(["task", "labeler"]).reset_index(drop=True)[CODERS_COLUMNS]


def data_table(summaries: Sequence[dict]) -> pd.DataFrame:
    """Task: its texts, the sizes of its parts, the test part's positives and its duplicates."""
    rows = []
    for summary in summaries:
        parts, duplicates = summary["parts"], summary["duplicates"]
        test = parts.get("test", {})
        positives = test.get("label_counts", {}).get(summary.get("positive_label"), math.nan)
        rows.append(
            {
                "task": summary["task"],
                "n_texts": summary["n_texts"],
                **{f"n_{part}": parts.get(part, {}).get("n") for part in ("pool", "val", "test")},
                "n_test_positive": positives,
                "human_positive_rate_test": positives / test["n"] if test.get("n") else math.nan,
                **{key: duplicates.get(key) for key in DATA_COLUMNS if key in duplicates},
            }
        )
    return pd.DataFrame(rows, columns=DATA_COLUMNS).sort_values("task").reset_index(drop=True)


def corpus_table(estimates: Sequence[dict]) -> pd.DataFrame:
    """Task x label x method: the share in the corpus with its 95% interval; then the same per
    covariate level. The PPI++ row carries the effective number of human labels and the human
    texts a +- half_width interval needs with PPI++; the human row the same without predictions."""
    rows = []
    for record in estimates:
        worth = {row["label"]: row["effective_labels"] for row in record["effective_labels"]}
        plan = {row["label"]: row for row in record["plan"]}
        meta = {"task": record["task"], "student": record["student"], "labeler": record["labeler"]}
        parts = [("", None, record["shares"])]
        parts += [(name, "group", rows_) for name, rows_ in record["by_group"].items()]
        for covariate, group_key, shares in parts:
            for share in shares:
                label, method = share["label"], share["method"]
                row = {
                    **meta,
                    "label": label,
                    "covariate": covariate,
                    "level": "" if group_key is None else str(share[group_key]),
                    "method": method,
                    "estimate": share["estimate"],
                    "ci_low": share["low"],
                    "ci_high": share["high"],
                    "se": share["se"],
                    "lambda": share["lambda"],
                    "n_labelled": share["n_labelled"],
                    "n_corpus": share["n_corpus"],
                    "effective_labels": None,
                    "half_width": None,
                    "labelled_needed": None,
                }
                if group_key is None and method in ("human", "ppi++") and label in plan:
                    row["effective_labels"] = worth.get(label) if method == "ppi++" else share["n_labelled"]
                    row["half_width"] = plan[label]["half_width"]
                    row["labelled_needed"] = plan[label]["n_ppi" if method == "ppi++" else "n_human"]
                rows.append(row)
    frame = pd.DataFrame(rows, columns=CORPUS_COLUMNS)
    return frame.astype({c: float for c in CORPUS_COLUMNS[7:]})


def paper_table(medians: pd.DataFrame, gaps: pd.DataFrame) -> pd.DataFrame:
    """PAPER.md's table, ready to paste: per condition the medians over tasks of its headline
    score (F1 of the positive label, or macro-F1; tasks of the two never pooled), precision
    and recall; then the two median gaps (of every student, labeler and size pair) with the
    distribution-free interval of the median and the Wilcoxon signed-rank p-value."""
    rows = [
        {
            "section": "condition",
            "row": row.condition,
            "metric": row.headline,
            "score": row.headline_median,
            "precision": row.precision_median,
            "recall": row.recall_median,
            "n_tasks": row.n_tasks,
        }
        for row in medians.itertuples(index=False)
    ]
    summary = gaps[gaps["task"] == MEDIAN_ROW] if len(gaps) else gaps
    for row in summary.itertuples(index=False):
        rows.append(
            {
                "section": f"median gap: {row.comparison}",
                "row": f"{row.condition_a} - {row.condition_b}",
                "metric": row.metric,
                "score": row.f1_gap,
                "ci_low": row.gap_ci_low,
                "ci_high": row.gap_ci_high,
                "wilcoxon_p": row.wilcoxon_p,
                "n_tasks": row.n_tasks,
            }
        )
    return pd.DataFrame(rows, columns=PAPER_COLUMNS)


def pool_sizes(splits: Sequence[dict]) -> dict[str, int]:
    return {summary["task"]: summary["parts"].get("pool", {}).get("n") for summary in splits}


# ---- headline, task groups, thin labels, per class -----------------------------------------
def task_facts(summaries: Sequence[dict]) -> dict[str, dict]:
    """Per task, from its split summary: task_group, headline, the test part's size and label
    counts, and its thin labels (`rare_labels.thin_labels`) with a note each."""
    facts = {}
    for summary in summaries:
        test = summary["parts"].get("test", {})
        counts, n_test = test.get("label_counts", {}), int(test.get("n") or 0)
        labels = summary.get("labels") or list(counts)
        headline = summary.get("headline") or "f1"
        thin = thin_labels(counts, n_test, headline_labels(labels, summary.get("positive_label"), headline))
        facts[summary["task"]] = {
            "task_group": summary.get("task_group") or summary["task"],
            "headline": headline,
            "n_test": n_test,
            "label_counts": counts,
            "seed": (summary.get("split") or {}).get("seed"),
            "thin": thin,
            "notes": [thin_label_note(row, n_test) for row in thin],
        }
    return facts


def short_note(thin: Sequence[dict]) -> str:
    """The table cell of a task's thin labels: label, its test texts, the texts to add."""
    return "; ".join(
        f"{row['label']}: {row['count']} in test"
        + (f", ~{row['more']:,} more texts for 30" if row["more"] is not None else ", no rate")
        for row in thin
    )


def _group_of(tasks: pd.Series, facts: Mapping[str, dict]) -> list[str]:
    return [facts.get(task, {}).get("task_group", task) for task in tasks]


def add_headline(
    per_task: pd.DataFrame,
    records: pd.DataFrame,
    intervals: pd.DataFrame | None = None,
    facts: Mapping[str, dict] | None = None,
) -> pd.DataFrame:
    """per_task with HEADLINE_COLUMNS: the task's group and headline metric, the headline's
    mean and sd over seeds and the 95% interval of its seed-mean (compare stage), macro
    precision and recall, the thin-label note; rows ordered by task group, then as before."""
    facts = facts or {}
    if per_task.empty:
        return pd.DataFrame(columns=[*PER_TASK_COLUMNS, *HEADLINE_COLUMNS])
    keys = ["task", "condition"]
    records = records.assign(
        headline_value=[records.at[i, headline] for i, headline in records["headline"].items()]
    )
    grouped = records.groupby(keys, sort=False)
    extra = grouped[["headline"]].first()
    extra["headline_mean"] = grouped["headline_value"].mean()
    extra["headline_sd"] = grouped["headline_value"].std(ddof=1)
    extra["macro_precision_mean"] = grouped["macro_precision"].mean()
    extra["macro_recall_mean"] = grouped["macro_recall"].mean()
    table = per_task.drop(columns=[c for c in HEADLINE_COLUMNS if c in per_task.columns])
    table = table.merge(extra.reset_index(), on=keys, how="left")
    if intervals is not None and len(intervals):
        chosen = intervals.merge(table[[*keys, "headline"]], on=keys)
        chosen = chosen[chosen["metric"] == chosen["headline"]].set_index(keys)
        index = pd.MultiIndex.from_frame(table[keys])
        table["headline_ci_low"] = chosen["low"].reindex(index).to_numpy()
        table["headline_ci_high"] = chosen["high"].reindex(index).to_numpy()
    else:
        table["headline_ci_low"] = table["headline_ci_high"] = math.nan
    table["task_group"] = _group_of(table["task"], facts)
    table["test_note"] = [short_note(facts.get(task, {}).get("thin", [])) for task in table["task"]]
    table = table.sort_values(["task_group", "task"], kind="stable").reset_index(drop=True)
    return table[[*PER_TASK_COLUMNS, *HEADLINE_COLUMNS]]


def headline_medians_table(per_task: pd.DataFrame) -> pd.DataFrame:
    """The medians table per headline metric: tasks scored by F1 and tasks scored by macro-F1
    are never pooled into one median. Adds `headline`, `headline_median`, `macro_f1_median`."""
    columns = [*MEDIANS_COLUMNS, "headline", "headline_median", "macro_f1_median"]
    if per_task.empty or "headline" not in per_task:
        return pd.DataFrame(columns=columns)
    parts = []
    for headline in sorted(per_task["headline"].dropna().unique(), key=lambda h: (h != "f1", h)):
        subset = per_task[per_task["headline"] == headline]
        table = medians_table(subset)
        by_condition = subset.groupby("condition")
        table["headline"] = headline
        table["headline_median"] = table["condition"].map(by_condition["headline_mean"].median())
        table["macro_f1_median"] = table["condition"].map(by_condition["macro_f1_mean"].median())
        parts.append(table)
    return pd.concat(parts, ignore_index=True)[columns]


def headline_gaps_table(gaps: pd.DataFrame, facts: Mapping[str, dict] | None = None) -> pd.DataFrame:
    """The gaps table per gap metric (each task's headline; `metric`), so that a median row is
    over tasks of one metric; with the task group of every task row."""
    columns = [*GAPS_COLUMNS, "metric", "task_group"]
    if gaps is None or gaps.empty:
        return pd.DataFrame(columns=columns)
    metric = gaps["metric"] if "metric" in gaps else pd.Series("f1", index=gaps.index)
    parts = []
    for name in sorted(metric.unique(), key=lambda m: (m != "f1", m)):
        table = gaps_table(gaps[metric == name])
        table["metric"] = name
        parts.append(table)
    table = pd.concat(parts, ignore_index=True)
    table["task_group"] = [
        "" if task == MEDIAN_ROW else group
        for task, group in zip(table["task"], _group_of(table["task"], facts or {}), strict=True)
    ]
    order = {name: i for i, name in enumerate((GAP_HUMAN, GAP_FEWSHOT))}
    return table.sort_values(
        ["comparison", "metric"], key=lambda c: c.map(order) if c.name == "comparison" else c, kind="stable"
    ).reset_index(drop=True)[columns]


def add_data_notes(data: pd.DataFrame, facts: Mapping[str, dict]) -> pd.DataFrame:
    """The data table with the task group, the split's seed, the test texts per label and the
    thin-label note; rows ordered by task group."""
    if data.empty:
        return pd.DataFrame(columns=[*DATA_COLUMNS, *DATA_NOTE_COLUMNS])
    table = data.copy()
    table["task_group"] = _group_of(table["task"], facts)
    table["split_seed"] = [facts.get(task, {}).get("seed") for task in table["task"]]
    table["test_label_counts"] = [
        ", ".join(f"{label} {count}" for label, count in facts.get(task, {}).get("label_counts", {}).items())
        for task in table["task"]
    ]
    table["test_note"] = [short_note(facts.get(task, {}).get("thin", [])) for task in table["task"]]
    return table.sort_values(["task_group", "task"], kind="stable").reset_index(drop=True)


def per_class_table(records: pd.DataFrame, facts: Mapping[str, dict] | None = None) -> pd.DataFrame:
    """Tasks scored by macro-F1 x condition x label: mean precision, recall and F1 over seeds
    (sd of F1), the label's test texts and their share beside the mean share of test texts
    predicted as the label (failed texts count in the denominator; NaN in records before
    predicted counts), in the task's label order."""
    facts = facts or {}
    rows = []
    chosen = records[records["headline"] == "macro_f1"] if len(records) else records
    for record in chosen.itertuples(index=False):
        for entry in record.per_class:
            rows.append(
                {
                    "task": record.task,
                    "condition": record.condition,
                    "kind": record.kind,
                    "student": record.student,
                    "labeler": record.labeler,
                    "seed": record.seed,
                    **{key: entry.get(key) for key in ("label", "precision", "recall", "f1", "support")},
                    "predicted": entry.get("predicted", math.nan),
                }
            )
    if not rows:
        return pd.DataFrame(columns=PER_CLASS_COLUMNS)
    frame = pd.DataFrame(rows)
    frame["_order"] = frame.groupby(["task", "condition", "seed"], dropna=False).cumcount()
    texts = frame.groupby(["task", "condition", "seed"], dropna=False)["support"].transform("sum")
    frame["human_share"] = frame["support"] / texts
    frame["predicted_share"] = pd.to_numeric(frame["predicted"]) / texts
    grouped = frame.groupby(["task", "condition", "label"], sort=False, dropna=False)
    table = grouped[["kind", "student", "labeler", "support", "human_share", "_order"]].first()
    table["n_seeds"] = grouped.size()
    for name in ("precision", "recall", "f1", "predicted_share"):
        table[f"{name}_mean"] = grouped[name].mean()
    table["f1_sd"] = grouped["f1"].std(ddof=1)
    table = table.reset_index()
    table["task_group"] = _group_of(table["task"], facts)
    position = {name: i for i, name in enumerate(condition_order(table))}
    table["_condition"] = table["condition"].map(position)
    table = table.sort_values(["task_group", "task", "_condition", "_order"], kind="stable")
    return table.reset_index(drop=True)[PER_CLASS_COLUMNS]


def build_tables(
    records: pd.DataFrame,
    agreement: pd.DataFrame,
    usage: pd.DataFrame | None = None,
    intervals: pd.DataFrame | None = None,
    gaps: pd.DataFrame | None = None,
    splits: Sequence[dict] = (),
    corpus: Sequence[dict] = (),
    human_cost_per_label: float | None = None,
) -> dict[str, pd.DataFrame]:
    facts = task_facts(splits)
    per_task = add_headline(per_task_table(records, intervals), records, intervals, facts)
    medians = headline_medians_table(per_task)
    gaps_summary = headline_gaps_table(gaps, facts)
    cost = cost_table(usage) if usage is not None else None
    tables = {
        "per_task": per_task,
        "per_class": per_class_table(records, facts),
        "medians": medians,
        "gaps": gaps_summary,
        "label_budget": label_budget_table(per_task, records, pool_sizes(splits), cost, human_cost_per_label),
        "paper": paper_table(medians, gaps_summary),
        "agreement": agreement_table(agreement),
        "coders": coders_table(agreement),
        "data": add_data_notes(data_table(splits), facts),
    }
    if cost is not None:
        tables["cost"] = cost
    if corpus:
        tables["corpus"] = corpus_table(corpus)
    return tables


# ---- writers ---------------------------------------------------------------------------
def _cell(value, column: str, digits: int) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        if column in COUNT_COLUMNS:
            return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
        return f"{value:.{digits}f}"
    return str(value)


def _says_nothing(frame: pd.DataFrame, column: str) -> bool:
    """A task group column in a run without one_vs_rest tasks: every group is its task's name."""
    if column != "task_group" or "task" not in frame.columns:
        return False
    grouped = frame["task_group"].fillna("") != ""
    return bool((frame.loc[grouped, "task_group"] == frame.loc[grouped, "task"]).all())


def display_frame(frame: pd.DataFrame, name: str, digits: int = 3) -> pd.DataFrame:
    """The shown columns of a table under their display names, as formatted strings."""
    names = {
        c: h for c, h in DISPLAY.get(name, {}).items() if c in frame.columns and not _says_nothing(frame, c)
    } or {c: c for c in frame.columns}
    shown = frame[list(names)]
    cells = {heading: [_cell(v, column, digits) for v in shown[column]] for column, heading in names.items()}
    return pd.DataFrame(cells, columns=list(names.values()))


def _numeric(frame: pd.DataFrame, name: str) -> list[bool]:
    names = {
        c: h for c, h in DISPLAY.get(name, {}).items() if c in frame.columns and not _says_nothing(frame, c)
    }
    return [pd.api.types.is_numeric_dtype(frame[c]) for c in names] or [
        pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns
    ]


def to_markdown(frame: pd.DataFrame, name: str) -> str:
    shown = display_frame(frame, name)
    align = ["right" if numeric else "left" for numeric in _numeric(frame, name)]
    return (
        tabulate(
            shown.values.tolist(),
            headers=list(shown.columns),
            tablefmt="github",
            disable_numparse=True,
            colalign=align or None,
        )
        + "\n"
    )


_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(char, char) for char in str(text))


def to_latex(frame: pd.DataFrame, name: str) -> str:
    """A booktabs tabular (needs \\usepackage{booktabs})."""
    shown = display_frame(frame, name)
    spec = "".join("r" if numeric else "l" for numeric in _numeric(frame, name))
    lines = [
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        " & ".join(latex_escape(c) for c in shown.columns) + r" \\",
        "\\midrule",
    ]
    lines += [" & ".join(latex_escape(v) for v in row) + r" \\" for row in shown.values.tolist()]
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_tables(tables: dict[str, pd.DataFrame], tables_dir: Path) -> list[Path]:
    """Write every table as {name}.csv, {name}.md and {name}.tex; return the paths."""
    tables_dir = Path(tables_dir)
    tables_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.items():
        csv, md, tex = (tables_dir / f"{name}.{ext}" for ext in ("csv", "md", "tex"))
        frame.to_csv(csv, index=False)
        md.write_text(to_markdown(frame, name), encoding="utf-8")
        tex.write_text(to_latex(frame, name), encoding="utf-8")
        written += [csv, md, tex]
    return written
