"""The report's answer in plain sentences, written from its tables: per task and over tasks,
the best condition, what a student loses or gains when it learns from the LLM's labels instead
of human ones, whether the LLM could replace a single coder, and the corpus estimate.

Every figure is copied from a table row, with the interval and what it covers as that row
says, so a sentence never claims more than its table.
"""

from __future__ import annotations

import pandas as pd

from labeldistill.conditions import GAP_FEWSHOT, GAP_HUMAN, GAP_UNCODED, parse_condition

MEDIAN = "median"  # the gaps table's row over tasks


def _number(value: float) -> str:
    return f"{value:.3f}"


def _interval(low: float, high: float) -> str:
    return f"{_number(low)} to {_number(high)}"


def _metric_name(metric: str) -> str:
    return "F1" if metric == "f1" else "macro-F1"


def best_condition(per_task: pd.DataFrame, task: str) -> str:
    """'the best condition is minilm trained on 250 human labels, F1 0.814 (95% CI ...)': the
    task's highest headline score."""
    rows = per_task[(per_task["task"] == task) & per_task["headline_mean"].notna()]
    if rows.empty:
        return "no condition has a score"
    best = rows.loc[rows["headline_mean"].idxmax()]
    sentence = (
        f"the best condition is {parse_condition(best['condition']).description}, "
        f"{_metric_name(best['headline'])} {_number(best['headline_mean'])}"
    )
    if pd.isna(best["headline_ci_low"]):
        return sentence
    covers = best.get("interval_covers") or "test texts"
    return (
        sentence + f" (95% CI {_interval(best['headline_ci_low'], best['headline_ci_high'])}, over {covers})"
    )


def _change(row: pd.Series, over_tasks: bool) -> str:
    """What condition B scores minus condition A (the gaps table holds A - B), with the
    interval's coverage as the row gives it."""
    a, b = parse_condition(row["condition_a"]), parse_condition(row["condition_b"])
    bounds = _interval(-row["gap_ci_high"], -row["gap_ci_low"])
    if row["comparison"] == GAP_FEWSHOT:
        what = f"distilling {a.description} into {b.description}"
    else:  # the same student on both sides: named once
        what = f"{b.description} instead of {a.description.removeprefix(f'{a.student} trained on ')}"
    if over_tasks:
        n_tasks = int(row["n_tasks"])
        interval = (
            f"median over {n_tasks} tasks; interval {bounds}, which covers the median with probability "
            f"{row['median_ci_coverage']:.2f}; better in {int(row['n_b_better'])} of {n_tasks} tasks"
        )
    else:
        level = float(row["ci_covers"].split(" ")[0])
        interval = f"{level:.0%} CI {bounds}, paired bootstrap"
    return f"{what} changes {_metric_name(row['metric'])} by {-row['f1_gap']:+.3f} ({interval})"


def _gap_rows(gaps: pd.DataFrame, task: str, student: str | None) -> list[pd.Series]:
    """One row per comparison kind: the chosen student's (else the first), LLM-label
    comparisons at equal sizes first."""
    chosen = []
    rows = gaps[gaps["task"] == task]
    for comparison in (GAP_HUMAN, GAP_UNCODED):
        kind = rows[rows["comparison"] == comparison]
        if kind.empty:
            continue
        own = kind[kind["student"] == student]
        kind = own if not own.empty else kind
        equal = kind[
            [
                parse_condition(a).size == parse_condition(b).size
                for a, b in zip(kind["condition_a"], kind["condition_b"], strict=True)
            ]
        ]
        chosen.append((equal if not equal.empty else kind).iloc[0])
    return chosen


def _coders(coders: pd.DataFrame, task: str) -> list[str]:
    if "alt_test_passed" not in coders:
        return []
    rows = coders[(coders["task"] == task) & coders["alt_test_passed"].notna()]
    sentences = []
    for _, row in rows.iterrows():
        verdict = "could" if _passed(row["alt_test_passed"]) else "could not"
        how = [f"epsilon {row['alt_test_epsilon']:g}"] if pd.notna(row.get("alt_test_epsilon")) else []
        if pd.notna(row.get("alt_test_winning_rate")):
            over = (
                f" over {int(row['alt_test_n_coders'])} coders"
                if pd.notna(row.get("alt_test_n_coders"))
                else ""
            )
            how.append(f"winning rate {row['alt_test_winning_rate']:.2f}{over}, 0.5 needed")
        sentences.append(
            f"{row['labeler']} {verdict} replace a single coder (Alternative Annotator Test"
            + (f", {'; '.join(how)}" if how else "")
            + ")"
        )
    return sentences


def _passed(value) -> bool:
    return str(value).lower() == "true"


def _corpus(records: list[dict], task: str) -> list[str]:
    sentences = []
    for record in records:
        if record["task"] != task:
            continue
        labels = [record["positive_label"]] if record.get("positive_label") else record["labels"]
        for share in record["shares"]:
            if share["method"] == "ppi++" and share["label"] in labels:
                sentences.append(
                    f"the share of '{share['label']}' in its corpus of {record['n_corpus']:,} texts is "
                    f"{_number(share['estimate'])} (95% CI {_interval(share['low'], share['high'])}, "
                    f"PPI++ with {record['student']} on {record['labeler']}'s labels, valid if the test "
                    "texts are a random sample of the corpus)"
                )
    return sentences


def _over_tasks(tables: dict[str, pd.DataFrame], n_tasks: int) -> list[str]:
    medians = tables.get("medians", pd.DataFrame())
    if n_tasks < 2 or not medians.get("headline_median", pd.Series(dtype=float)).notna().any():
        return []
    best = medians.loc[medians["headline_median"].idxmax()]
    sentences = [
        f"Over {n_tasks} tasks the best condition is {parse_condition(best['condition']).description} "
        f"(median {_metric_name(best['headline'])} {_number(best['headline_median'])})."
    ]
    gaps = tables.get("gaps", pd.DataFrame())
    if not gaps.empty:
        over = gaps[(gaps["task"] == MEDIAN) & gaps["comparison"].isin((GAP_HUMAN, GAP_UNCODED))]
        sentences += [f"Over tasks, {_change(row, over_tasks=True)}." for _, row in over.iterrows()]
    coders = tables.get("coders", pd.DataFrame())
    verdict = "alt_test_passed_joint" if "alt_test_passed_joint" in coders else "alt_test_passed"
    if verdict in coders:
        tested = coders.dropna(subset=[verdict])
        how = ", Benjamini-Yekutieli over every task's coders" if verdict == "alt_test_passed_joint" else ""
        for labeler, rows in tested.groupby("labeler", sort=False):
            sentences.append(
                f"{labeler} could replace a single coder in {sum(map(_passed, rows[verdict]))} "
                f"of {len(rows)} tasks (Alternative Annotator Test{how})."
            )
    return sentences


def _task_sentence(tables: dict[str, pd.DataFrame], task: str, corpus: list[dict]) -> str:
    per_task = tables["per_task"]
    students = per_task[(per_task["task"] == task) & (per_task["kind"] == "student")].dropna(
        subset=["headline_mean"]
    )
    best_student = students.loc[students["headline_mean"].idxmax(), "student"] if not students.empty else None
    parts = [best_condition(per_task, task)]
    gaps = tables.get("gaps", pd.DataFrame())
    if not gaps.empty:
        parts += [_change(row, over_tasks=False) for row in _gap_rows(gaps, task, best_student)]
    parts += _coders(tables.get("coders", pd.DataFrame()), task)
    parts += _corpus(corpus, task)
    return f"{task}: " + "; ".join(parts) + "."


def answer_sentences(tables: dict[str, pd.DataFrame], corpus: list[dict] = ()) -> list[str]:
    """Sentences over tasks first (the best condition, each median gap of a student on LLM
    labels against human labels, the Alternative Annotator Test), then one per task, which
    starts with its name; empty when no condition was scored."""
    per_task = tables.get("per_task", pd.DataFrame())
    if per_task.empty:
        return []
    tasks = list(dict.fromkeys(per_task["task"]))
    return _over_tasks(tables, len(tasks)) + [_task_sentence(tables, task, list(corpus)) for task in tasks]
