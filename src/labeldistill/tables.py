"""The paper's tables from the metric and agreement JSON records.

Pure functions turn records (one row per metrics file) into the four tables; writers put each
table out as CSV (full precision, machine-readable snake_case columns) and as Markdown and
LaTeX (display names, 3 decimals, empty cells for undefined values).

Tables:
- per_task: task x condition, mean and sd over seeds of F1, precision, recall, accuracy.
- medians: condition, medians over tasks of the per-task means (PAPER.md's headline table).
- gaps: the paired F1 gaps of PAPER.md per task, and their median over tasks.
- agreement: task x LLM labeler, the validation step's agreement with the human labels.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from labeldistill.errors import LabelDistillError
from labeldistill.usage import COST_DISPLAY, COUNTS, cost_table

HUMAN = "human"
FEWSHOT = "fewshot"
MEASURES = ("f1", "precision", "recall", "accuracy", "macro_f1")
MEDIAN_ROW = "median"
GAP_HUMAN = "human-label student minus LLM-label student"
GAP_FEWSHOT = "few-shot minus LLM-label student"

RECORD_COLUMNS = [
    "task",
    "condition",
    "kind",
    "student",
    "labeler",
    "seed",
    "n",
    "n_failed",
    *MEASURES,
    "f1_ci_low",
    "f1_ci_high",
    "source",
]
PER_TASK_COLUMNS = [
    "task",
    "condition",
    "kind",
    "student",
    "labeler",
    "n_seeds",
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
    "n_test",
    "n_failed_mean",
]
MEDIANS_COLUMNS = [
    "condition",
    "kind",
    "student",
    "labeler",
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
    "n_tasks",
]
AGREEMENT_COLUMNS = [
    "task",
    "labeler",
    "n",
    "n_failed",
    "accuracy",
    "f1",
    "precision",
    "recall",
    "cohen_kappa",
    "krippendorff_alpha",
    "human_human_alpha",
    "n_coders_median",
    "mean_label_probability",
]

# What the Markdown, LaTeX and HTML versions show, under which heading.
DISPLAY = {
    "cost": COST_DISPLAY,
    "cost_estimate": {
        "task": "Task",
        "labeler": "LLM labeler",
        "model": "Model",
        "requests": "Requests to send",
        "cached_requests": "Cached",
        "prompt_tokens": "Prompt tokens",
        "max_output_tokens": "Output tokens (max)",
        "dollars_max": "Dollars (max)",
        "token_method": "Tokens counted by",
    },
    "per_task": {
        "task": "Task",
        "condition": "Condition",
        "n_seeds": "Seeds",
        "f1_mean": "F1",
        "f1_sd": "F1 sd",
        "f1_ci_low": "F1 CI low",
        "f1_ci_high": "F1 CI high",
        "precision_mean": "Precision",
        "precision_sd": "Precision sd",
        "recall_mean": "Recall",
        "recall_sd": "Recall sd",
        "accuracy_mean": "Accuracy",
        "accuracy_sd": "Accuracy sd",
        "n_test": "Test texts",
    },
    "medians": {
        "condition": "Condition",
        "n_tasks": "Tasks",
        "f1_median": "Median F1",
        "precision_median": "Median precision",
        "recall_median": "Median recall",
        "accuracy_median": "Median accuracy",
    },
    "gaps": {
        "comparison": "Comparison",
        "task": "Task",
        "condition_a": "Condition A",
        "condition_b": "Condition B",
        "f1_a": "F1 A",
        "f1_b": "F1 B",
        "f1_gap": "F1 gap (A - B)",
        "n_tasks": "Tasks",
    },
    "agreement": {
        "task": "Task",
        "labeler": "LLM labeler",
        "n": "Texts",
        "n_failed": "Failed",
        "accuracy": "Accuracy",
        "f1": "F1",
        "precision": "Precision",
        "recall": "Recall",
        "cohen_kappa": "Cohen's kappa",
        "krippendorff_alpha": "Krippendorff's alpha",
        "human_human_alpha": "Human-human alpha",
        "n_coders_median": "Coders (median)",
        "mean_label_probability": "Mean label probability",
    },
}
COUNT_COLUMNS = {
    "n_seeds",
    "n_tasks",
    "n",
    "n_failed",
    "n_test",
    "n_failed_mean",
    "n_coders_median",
    "seed",
    *COUNTS,
}


# ---- conditions ------------------------------------------------------------------------
def parse_condition(condition: str) -> tuple[str, str | None, str]:
    """`{student}@{labeler}` -> ("student", student, labeler); `fewshot@{labeler}` -> fewshot."""
    head, sep, labeler = str(condition).rpartition("@")
    if not sep or not head or not labeler:
        raise LabelDistillError(
            f"condition {condition!r} is not of the form student@labeler or fewshot@labeler"
        )
    return (FEWSHOT, None, labeler) if head == FEWSHOT else ("student", head, labeler)


def condition_rank(kind: str, labeler: str) -> int:
    """Human-label students first, then LLM-label students, then the LLM few-shot."""
    if kind == FEWSHOT:
        return 2
    return 0 if labeler == HUMAN else 1


def sort_conditions(frame: pd.DataFrame, first: Sequence[str] = ()) -> pd.DataFrame:
    """Sort by the `first` columns, then by condition rank, student and labeler."""
    keyed = frame.assign(
        _rank=[
            condition_rank(kind, labeler)
            for kind, labeler in zip(frame["kind"], frame["labeler"], strict=True)
        ],
        _student=frame["student"].fillna(""),
    )
    keyed = keyed.sort_values([*first, "_rank", "_student", "labeler"], kind="stable")
    return keyed.drop(columns=["_rank", "_student"]).reset_index(drop=True)


def condition_order(frame: pd.DataFrame) -> list[str]:
    """The conditions present in `frame`, in display order."""
    unique = frame.drop_duplicates("condition")[["condition", "kind", "student", "labeler"]]
    return sort_conditions(unique)["condition"].tolist()


# ---- records ---------------------------------------------------------------------------
def _read_json(path: Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise LabelDistillError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise LabelDistillError(f"{path}: not valid JSON ({error})") from error


def _number(value) -> float:
    return math.nan if value is None else float(value)


def metric_record(data: dict, source: str = "") -> dict:
    """One flat row from an evaluate JSON (see stages.evaluate)."""
    missing = [
        key for key in ("task", "condition", "f1", "precision", "recall", "accuracy") if key not in data
    ]
    if missing:
        raise LabelDistillError(f"{source or 'metrics record'}: missing key(s) {missing}")
    kind, student, labeler = parse_condition(data["condition"])
    ci = (data.get("ci") or {}).get("f1") or [None, None]
    seed = data.get("seed")
    return {
        "task": str(data["task"]),
        "condition": str(data["condition"]),
        "kind": data.get("kind") or kind,
        "student": data.get("student", student),
        "labeler": data.get("labeler") or labeler,
        "seed": None if seed is None else int(seed),
        "n": data.get("n"),
        "n_failed": data.get("n_failed"),
        **{name: _number(data.get(name)) for name in MEASURES},
        "f1_ci_low": _number(ci[0]),
        "f1_ci_high": _number(ci[1]),
        "source": source,
    }


def load_metric_records(files: Iterable[Path]) -> pd.DataFrame:
    """One row per metrics JSON; a (task, condition, seed) found twice is an error."""
    rows = [metric_record(_read_json(path), str(path)) for path in files]
    frame = pd.DataFrame(rows, columns=RECORD_COLUMNS)
    frame["seed"] = frame["seed"].astype("Int64")
    frame[["n", "n_failed"]] = frame[["n", "n_failed"]].apply(pd.to_numeric, errors="coerce")
    twice = frame.duplicated(["task", "condition", "seed"], keep=False)
    if twice.any():
        sources = frame.loc[twice, "source"].tolist()
        raise LabelDistillError(f"metrics files describe the same task, condition and seed: {sources}")
    return frame


def load_agreement_records(files: Iterable[Path]) -> pd.DataFrame:
    """One row per agreement JSON (see stages.agreement)."""
    rows = []
    for path in files:
        data = _read_json(path)
        missing = [key for key in ("task", "labeler") if key not in data]
        if missing:
            raise LabelDistillError(f"{path}: missing key(s) {missing}")
        rows.append({column: data.get(column) for column in AGREEMENT_COLUMNS})
    frame = pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)
    numeric = [c for c in AGREEMENT_COLUMNS if c not in ("task", "labeler")]
    frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="coerce")
    return frame


# ---- tables ----------------------------------------------------------------------------
def per_task_table(records: pd.DataFrame) -> pd.DataFrame:
    """Task x condition: mean and sample sd over seeds (sd empty for a single run)."""
    if records.empty:
        return pd.DataFrame(columns=PER_TASK_COLUMNS)
    keys = ["task", "condition"]
    grouped = records.groupby(keys, sort=False)
    table = grouped[["kind", "student", "labeler"]].first()
    table["n_seeds"] = grouped.size()
    for name in MEASURES:
        table[f"{name}_mean"] = grouped[name].mean()
        table[f"{name}_sd"] = grouped[name].std(ddof=1)
    table["f1_ci_low"] = grouped["f1_ci_low"].mean()
    table["f1_ci_high"] = grouped["f1_ci_high"].mean()
    table["n_test"] = grouped["n"].first()
    table["n_failed_mean"] = grouped["n_failed"].mean()
    table = table.reset_index()
    return sort_conditions(table, first=["task"])[PER_TASK_COLUMNS]


def medians_table(per_task: pd.DataFrame) -> pd.DataFrame:
    """Per condition, the median over tasks of the per-task mean F1, precision, recall."""
    if per_task.empty:
        return pd.DataFrame(columns=MEDIANS_COLUMNS)
    grouped = per_task.groupby("condition", sort=False)
    table = grouped[["kind", "student", "labeler"]].first()
    table["n_tasks"] = grouped["task"].nunique()
    for name in ("f1", "precision", "recall", "accuracy"):
        table[f"{name}_median"] = grouped[f"{name}_mean"].median()
    return sort_conditions(table.reset_index())[MEDIANS_COLUMNS]


def gaps_table(per_task: pd.DataFrame) -> pd.DataFrame:
    """PAPER.md's paired F1 gaps, per task and as the median over tasks.

    For every student S and LLM labeler L, where both conditions exist for a task:
    F1(S@human) - F1(S@L) and F1(fewshot@L) - F1(S@L), on the per-task means over seeds.
    The median row holds the medians over tasks of F1 A, F1 B and of the gap itself
    (the median gap, which need not equal the difference of the median F1s).
    """
    if per_task.empty:
        return pd.DataFrame(columns=GAPS_COLUMNS)
    f1 = per_task.set_index(["task", "condition"])["f1_mean"]
    students = per_task.loc[per_task["kind"] == "student", ["student", "labeler"]]
    llm_students = students[students["labeler"] != HUMAN].drop_duplicates()
    llm_students = llm_students.sort_values(["student", "labeler"])
    tasks = sorted(per_task["task"].unique())
    rows = []
    for comparison in (GAP_HUMAN, GAP_FEWSHOT):
        for student, labeler in llm_students.itertuples(index=False):
            condition_b = f"{student}@{labeler}"
            condition_a = f"{student}@{HUMAN}" if comparison == GAP_HUMAN else f"{FEWSHOT}@{labeler}"
            pairs = []
            for task in tasks:
                if (task, condition_a) in f1.index and (task, condition_b) in f1.index:
                    a, b = float(f1[(task, condition_a)]), float(f1[(task, condition_b)])
                    pairs.append((task, a, b))
            if not pairs:
                continue
            base = {
                "comparison": comparison,
                "student": student,
                "labeler": labeler,
                "condition_a": condition_a,
                "condition_b": condition_b,
            }
            for task, a, b in pairs:
                rows.append(
                    {**base, "task": task, "f1_a": a, "f1_b": b, "f1_gap": a - b, "n_tasks": math.nan}
                )
            a_values, b_values = np.array([p[1] for p in pairs]), np.array([p[2] for p in pairs])
            rows.append(
                {
                    **base,
                    "task": MEDIAN_ROW,
                    "f1_a": float(np.median(a_values)),
                    "f1_b": float(np.median(b_values)),
                    "f1_gap": float(np.median(a_values - b_values)),
                    "n_tasks": len(pairs),
                }
            )
    return pd.DataFrame(rows, columns=GAPS_COLUMNS)


def agreement_table(records: pd.DataFrame) -> pd.DataFrame:
    """Task x LLM labeler: the validation step's agreement with the human labels."""
    table = records[records["labeler"] != HUMAN] if len(records) else records
    return table.sort_values(["task", "labeler"]).reset_index(drop=True)[AGREEMENT_COLUMNS]


def build_tables(
    records: pd.DataFrame, agreement: pd.DataFrame, usage: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    per_task = per_task_table(records)
    tables = {
        "per_task": per_task,
        "medians": medians_table(per_task),
        "gaps": gaps_table(per_task),
        "agreement": agreement_table(agreement),
    }
    if usage is not None:
        tables["cost"] = cost_table(usage)
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


def display_frame(frame: pd.DataFrame, name: str, digits: int = 3) -> pd.DataFrame:
    """The shown columns of a table under their display names, as formatted strings."""
    names = {c: h for c, h in DISPLAY.get(name, {}).items() if c in frame.columns} or {
        c: c for c in frame.columns
    }
    shown = frame[list(names)]
    cells = {heading: [_cell(v, column, digits) for v in shown[column]] for column, heading in names.items()}
    return pd.DataFrame(cells, columns=list(names.values()))


def _numeric(frame: pd.DataFrame, name: str) -> list[bool]:
    names = {c: h for c, h in DISPLAY.get(name, {}).items() if c in frame.columns}
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
