"""How many human labels an LLM label is worth, and at what cost: the label-budget table.

One row per task, student, training labeler and training size (and a `median` row over the
tasks of one headline metric): the task's headline score (`metric`: F1 of the positive label,
or macro-F1; the columns keep the name f1) of its students over seeds (mean, sd, min, max,
the seed-mean's 95% interval), how many of the training labels were human and how many the
LLM's, and what those labels cost:
- human labels at `human.cost_per_label` dollars each (unknown without it);
- an LLM's labels at the dollars its usage records measured per labelled text (the mean over
  its prompt draws); a self-hosted labeler (local, vllm) counts no dollars.
The validation labels are the same for every size and are not counted.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from labeldistill.conditions import (
    ALL,
    HUMAN,
    LABELER_KIND_ORDER,
    labeler_kind,
    parse_augmented,
    parse_source,
    parse_uncoded,
    size_key,
)

MEDIAN_ROW = "median"
SELF_HOSTED = ("local", "vllm")
COLUMNS = [
    "task",
    "student",
    "labeler",
    "labeler_kind",
    "train_size",
    "n_human_labels",
    "n_llm_labels",
    "metric",
    "n_seeds",
    "f1_mean",
    "f1_sd",
    "f1_min",
    "f1_max",
    "f1_ci_low",
    "f1_ci_high",
    "dollars",
]


def label_counts(labeler: str, size: str, n_pool: float, n_uncoded: float = math.nan) -> tuple[float, float]:
    """(human labels, LLM labels) among a student's training texts; `all` is the pool, or for a
    student of uncoded texts every one the LLM labelled (`n_uncoded`)."""
    if str(size) == ALL:
        n = n_uncoded if parse_uncoded(labeler) else n_pool
    else:
        n = float(size)
    if labeler == HUMAN:
        return n, 0.0
    augmented = parse_augmented(labeler)
    if augmented:
        return float(augmented[0]), n - augmented[0]
    return 0.0, n


def dollars_per_label(cost: pd.DataFrame | None) -> dict[tuple[str, str], float]:
    """(task, LLM labeler) -> measured dollars per labelled text, averaged over prompt draws;
    0 for a self-hosted backend; absent where a price was unknown."""
    if cost is None or cost.empty:
        return {}
    frame = cost.assign(
        base=[parse_source(source)[0] for source in cost["labeler"]],
        dollars=pd.to_numeric(cost["dollars"], errors="coerce"),
        texts=pd.to_numeric(cost["texts"], errors="coerce"),
    )
    frame.loc[frame["backend"].isin(SELF_HOSTED), "dollars"] = 0.0
    frame["per_text"] = frame["dollars"] / frame["texts"].where(frame["texts"] > 0)
    means = frame.groupby(["task", "base"])["per_text"].mean()
    return {key: float(value) for key, value in means.items() if np.isfinite(value)}


def label_budget_table(
    per_task: pd.DataFrame,
    records: pd.DataFrame,
    pool_sizes: dict[str, int],
    cost: pd.DataFrame | None = None,
    human_cost_per_label: float | None = None,
    uncoded_sizes: dict[str, int] | None = None,
) -> pd.DataFrame:
    """See the module. `records`: one row per metrics file (table_records.load_metric_records);
    `uncoded_sizes`: task -> the uncoded texts its LLM labelled for students."""
    students = per_task[per_task["kind"] == "student"]
    if students.empty:
        return pd.DataFrame(columns=COLUMNS)
    students_records = records[records["kind"] == "student"]
    # The task's headline score (F1 of the positive label, or macro-F1) of every seed.
    headline = students_records.get("headline", pd.Series("f1", index=students_records.index)).fillna("f1")
    scores = students_records.assign(
        score=[students_records.at[i, metric] for i, metric in headline.items()]
    ).groupby(["task", "condition"])["score"]
    low, high = scores.min(), scores.max()
    per_label = dollars_per_label(cost)
    rows = []
    for row in students.itertuples(index=False):
        n_human, n_llm = label_counts(
            row.labeler,
            row.train_size,
            pool_sizes.get(row.task, math.nan),
            (uncoded_sizes or {}).get(row.task, math.nan),
        )
        augmented = parse_augmented(row.labeler)
        llm = augmented[1] if augmented else (parse_uncoded(row.labeler) or row.labeler)
        human_dollars = n_human * human_cost_per_label if human_cost_per_label is not None else math.nan
        llm_dollars = n_llm * per_label.get((row.task, llm), math.nan) if n_llm else 0.0
        rows.append(
            {
                "task": row.task,
                "student": row.student,
                "labeler": row.labeler,
                "labeler_kind": labeler_kind(row.labeler),
                "train_size": row.train_size,
                "n_human_labels": n_human,
                "n_llm_labels": n_llm,
                "metric": getattr(row, "headline", "f1"),
                "n_seeds": row.n_seeds,
                "f1_mean": getattr(row, "headline_mean", row.f1_mean),
                "f1_sd": getattr(row, "headline_sd", row.f1_sd),
                "f1_min": low.get((row.task, row.condition), math.nan),
                "f1_max": high.get((row.task, row.condition), math.nan),
                "f1_ci_low": getattr(row, "headline_ci_low", row.f1_ci_low),
                "f1_ci_high": getattr(row, "headline_ci_high", row.f1_ci_high),
                "dollars": (0.0 if n_human == 0 else human_dollars) + llm_dollars,
            }
        )
    table = pd.DataFrame(rows, columns=COLUMNS)
    medians = (
        table.groupby(["student", "labeler", "labeler_kind", "train_size", "metric"], sort=False)
        .agg(
            n_human_labels=("n_human_labels", "median"),
            n_llm_labels=("n_llm_labels", "median"),
            n_seeds=("n_seeds", "min"),
            f1_mean=("f1_mean", "median"),
            f1_sd=("f1_sd", "median"),
            f1_min=("f1_min", "median"),
            f1_max=("f1_max", "median"),
            dollars=("dollars", "median"),
        )
        .reset_index()
        .assign(task=MEDIAN_ROW)
    )
    table = pd.concat([table, medians], ignore_index=True)[COLUMNS]
    table = table.assign(
        _median=table["task"] == MEDIAN_ROW,
        _kind=table["labeler_kind"].map(LABELER_KIND_ORDER),
        _size=table["train_size"].map(size_key),
    )
    table = table.sort_values(["_median", "task", "student", "_kind", "labeler", "_size"], kind="stable")
    return table[COLUMNS].reset_index(drop=True)
