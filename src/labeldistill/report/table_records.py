"""The JSON records the report's tables are built from, each checked against its contract.

Metrics and agreement records become one flat row per file; comparison records give the
seed-mean intervals and the paired gaps; split summaries and corpus estimates are kept as dicts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from labeldistill.conditions import parse_condition
from labeldistill.contracts import (
    AGREEMENT,
    COMPARISONS,
    CORPUS_ESTIMATES,
    DISAGREEMENTS,
    METRICS,
    SPLIT_SUMMARY,
    UNCODED_CHECK,
    UNCODED_PLAN,
    read_record,
    read_table,
    table_metadata,
)
from labeldistill.errors import LabelDistillError
from labeldistill.report.table_columns import (
    AGREEMENT_COLUMNS,
    CALIBRATION,
    CODERS_COLUMNS,
    INTERVAL_KEYS,
    MEASURES,
    RECORD_COLUMNS,
)


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
        "headline": data.get("headline") or "f1",  # a record without one: the positive label's F1
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
            data["coders_pairwise_alpha"] = data[
                "human_human_alpha"
            ]  # records that name it human_human_alpha
        data.setdefault("headline", "f1")  # a record without one: the positive label's F1
        row = {column: data.get(column) for column in columns}
        # the tested coders' p-values: the report's joint correction over tasks needs them
        row["alt_test_coder_p"] = [c["p"] for c in data.get("coders") or [] if "p" in c and "rho_f" in c]
        row["alt_test_alpha"] = data.get("alt_test_alpha")
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*columns, "alt_test_coder_p", "alt_test_alpha"])
    numeric = [c for c in columns if c not in ("task", "labeler", "headline", "alt_test_passed")] + [
        "alt_test_alpha"
    ]
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


def load_uncoded_records(plan_files: Iterable[Path], check_files: Iterable[Path]) -> tuple[list, list]:
    """The uncoded texts' plans (one per task) and their label sources' checks."""
    return [read_record(p, UNCODED_PLAN) for p in plan_files], [
        read_record(p, UNCODED_CHECK) for p in check_files
    ]


def load_disagreements(files: Iterable[Path]) -> pd.DataFrame:
    """Every task's and LLM labeler's disagreements with the human labels, one table (task and
    labeler first, as each file's metadata names them)."""
    frames = []
    for path in files:
        source = table_metadata(path, "source") or {}
        frame = read_table(path, DISAGREEMENTS)
        frames.append(frame.assign(task=source.get("task"), labeler=source.get("labeler")))
    columns = ["task", "labeler", *DISAGREEMENTS.columns]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
