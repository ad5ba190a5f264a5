"""The paper's tables from the metric and agreement JSON records.

Pure functions turn the records (`table_records`: one row per metrics file) into the tables
below, with the columns of `table_columns`; `table_formats` writes them out as CSV, Markdown
and LaTeX.

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
- corpus: task x label x method (and x covariate level), the share of the label in the task's
  corpus with its 95% interval (naive, human-only, PPI++), the effective number of human
  labels and the human texts a +- half_width interval needs (the planner).

Every task has a headline metric (`conditions.headline_metric`): the positive label's F1, or
macro-F1. per_task, medians and gaps name it (`headline`, `metric`) and give its value; medians
and the median gaps are taken over the tasks of one headline only. Tasks expanded from one
`one_vs_rest` task carry its name in `task_group` and sit together. Where a label the headline
rests on has fewer than 30 test texts, per_task and data say so in `test_note`
(`rare_labels`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from labeldistill.conditions import GAP_ORDER, HUMAN, parse_condition
from labeldistill.report.label_budget import label_budget_table
from labeldistill.report.table_columns import (
    AGREEMENT_COLUMNS,
    CODERS_COLUMNS,
    CORPUS_COLUMNS,
    DATA_COLUMNS,
    DATA_NOTE_COLUMNS,
    GAPS_COLUMNS,
    HEADLINE_COLUMNS,
    INTERVAL_KEYS,
    MEASURES,
    MEDIAN_ROW,
    MEDIANS_COLUMNS,
    PAPER_COLUMNS,
    PER_CLASS_COLUMNS,
    PER_TASK_COLUMNS,
    UNCODED_COLUMNS,
)
from labeldistill.report.usage import cost_table
from labeldistill.stats.human_baseline import joint_winning_rates
from labeldistill.stats.intervals import median_gap_summary
from labeldistill.tasks.rare_labels import headline_labels, thin_label_note, thin_labels


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


TASK_INTERVAL = "0.95 (paired bootstrap)"


def median_interval_label(coverage: float, n_tasks: int) -> str:
    """What the interval of a median over tasks covers, as its table shows it: with few tasks
    the range of their values, whose exact coverage (1 - 2 / 2^n) is below 0.95."""
    if not np.isfinite(coverage):
        return f"no interval ({int(n_tasks)} task)"
    if coverage < 0.95:
        return f"range of {int(n_tasks)} tasks: {coverage:.2f}"
    return f"{coverage:.2f} (order statistics)"


def benjamini_yekutieli(p_values: pd.Series) -> pd.Series:
    """Benjamini-Yekutieli adjusted p-values over the given ones (the false discovery rate under
    any dependence, as between gaps that share a condition; NaN stays NaN)."""
    adjusted = pd.Series(np.nan, index=p_values.index)
    given = p_values.dropna()
    if len(given):
        adjusted[given.index] = stats.false_discovery_control(given.to_numpy(dtype=float), method="by")
    return adjusted


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
                    "ci_covers": TASK_INTERVAL,
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
                "ci_covers": median_interval_label(summary["coverage"], summary["n_tasks"]),
                "median_ci_coverage": summary["coverage"],
                "wilcoxon_p": summary["wilcoxon_p"],
                "n_a_better": summary["n_a_better"],
                "n_b_better": summary["n_b_better"],
                "n_tasks": summary["n_tasks"],
            }
        )
    table = pd.DataFrame(rows, columns=GAPS_COLUMNS)
    order = {name: i for i, name in enumerate(GAP_ORDER)}
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
    table = records[(records["labeler"] != HUMAN) & records["n_coders_scored"].fillna(0).gt(0)].copy()
    table["alt_test_winning_rate_joint"] = math.nan
    for _, rows in table.groupby("labeler"):
        alpha = rows["alt_test_alpha"].dropna()
        p_values = {i: list(p) if isinstance(p, list) else [] for i, p in rows["alt_test_coder_p"].items()}
        rates = joint_winning_rates(p_values, float(alpha.iloc[0]) if len(alpha) else 0.05)
        table.loc[list(rates), "alt_test_winning_rate_joint"] = list(rates.values())
    joint = table["alt_test_winning_rate_joint"]
    table["alt_test_passed_joint"] = (joint >= 0.5).where(joint.notna(), None)
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


def uncoded_table(plans: Sequence[dict], checks: Sequence[dict]) -> pd.DataFrame:
    """Task x LLM label source: what the uncoded file held, how many texts were dropped as twins
    of coded texts or repeats and labelled, and whether the coded test texts look like a random
    sample of them (median length; the LLM's mean probability of the positive label)."""
    by_task = {plan["task"]: plan for plan in plans}
    rows = []
    for check in checks:
        plan, measured = by_task.get(check["task"], {}), check["checks"]
        rows.append(
            {
                "task": check["task"],
                "labeler": check["labeler"],
                **{key: plan.get(key) for key in ("rows", "dropped_twins_of_coded", "dropped_repeated")},
                "planned": check["planned"],
                "labelled": check["labelled"],
                "failed": check["failed"],
                "median_chars_uncoded": measured.get("median_chars_corpus"),
                "median_chars_test": measured.get("median_chars_test"),
                "mean_positive_probability_uncoded": measured.get("mean_positive_probability_corpus"),
                "mean_positive_probability_test": measured.get("mean_positive_probability_test"),
                "positive_probability_z": measured.get("positive_probability_z"),
            }
        )
    return pd.DataFrame(rows, columns=UNCODED_COLUMNS).sort_values(["task", "labeler"]).reset_index(drop=True)


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
                "ci_covers": row.ci_covers,
                "wilcoxon_p": row.wilcoxon_p,
                "wilcoxon_p_by": row.wilcoxon_p_by,
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
    precision and recall, the thin-label note; rows ordered by task group, then in the order of
    `per_task`."""
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
    # Every gap the run tests is one family: the best of many comparisons cannot pass unadjusted.
    per_task = table["task"] != MEDIAN_ROW
    table["p_by"] = benjamini_yekutieli(pd.to_numeric(table["p_value"].where(per_task), errors="coerce"))
    table["wilcoxon_p_by"] = benjamini_yekutieli(
        pd.to_numeric(table["wilcoxon_p"].where(~per_task), errors="coerce")
    )
    table["task_group"] = [
        "" if task == MEDIAN_ROW else group
        for task, group in zip(table["task"], _group_of(table["task"], facts or {}), strict=True)
    ]
    order = {name: i for i, name in enumerate(GAP_ORDER)}
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
    predicted as the label (failed texts count in the denominator; NaN where a record has no
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
    uncoded: tuple[Sequence[dict], Sequence[dict]] = ((), ()),
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
        "label_budget": label_budget_table(
            per_task,
            records,
            pool_sizes(splits),
            cost,
            human_cost_per_label,
            {plan["task"]: plan["planned"] for plan in uncoded[0]},
        ),
        "paper": paper_table(medians, gaps_summary),
        "agreement": agreement_table(agreement),
        "coders": coders_table(agreement),
        "data": add_data_notes(data_table(splits), facts),
    }
    if cost is not None:
        tables["cost"] = cost
    if corpus:
        tables["corpus"] = corpus_table(corpus)
    if uncoded[1]:
        tables["uncoded"] = uncoded_table(*uncoded)
    return tables
