"""What labeling cost: the annotate stage's usage records summed per task and labeler."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from labeldistill.errors import LabelDistillError

COUNTS = [
    "texts",
    "failed_texts",
    "truncated_texts",
    "requests_sent",
    "cache_hits",
    "input_tokens",
    "prompt_cache_tokens",
    "output_tokens",
    "reasoning_tokens",
]
COST_COLUMNS = ["task", "labeler", "backend", *COUNTS, "dollars", "seconds"]
COST_DISPLAY = {
    "task": "Task",
    "labeler": "LLM labeler",
    "backend": "Backend",
    "texts": "Texts",
    "failed_texts": "Failed",
    "truncated_texts": "Truncated",
    "requests_sent": "Requests sent",
    "cache_hits": "Cache hits",
    "input_tokens": "Input tokens",
    "prompt_cache_tokens": "Of them from the prompt cache",
    "output_tokens": "Output tokens",
    "reasoning_tokens": "Of them reasoning",
    "dollars": "Dollars",
    "seconds": "Seconds",
}


def load_usage_records(files: Iterable[Path]) -> pd.DataFrame:
    """One row per usage JSON that the annotate stage wrote."""
    rows = []
    for path in files:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise LabelDistillError(f"{path}: not a readable usage record ({error})") from error
        if "task" not in data or "labeler" not in data:
            raise LabelDistillError(f"{path}: a usage record needs 'task' and 'labeler'")
        rows.append({column: data.get(column) for column in COST_COLUMNS})
    return pd.DataFrame(rows, columns=COST_COLUMNS)


def total_or_unknown(values: pd.Series) -> float:
    """The sum, or NaN when any value is unknown: one part without a price leaves the total
    unknown rather than too low."""
    return values.sum(min_count=len(values))


def cost_table(records: pd.DataFrame) -> pd.DataFrame:
    """Per task and labeler (all parts together); dollars stay empty where a price was unknown."""
    if records.empty:
        return pd.DataFrame(columns=COST_COLUMNS)
    numeric = [*COUNTS, "dollars", "seconds"]
    records = records.assign(**{c: pd.to_numeric(records[c], errors="coerce") for c in numeric})
    # Records written before prompt-cache and reasoning tokens were counted have neither: 0.
    records = records.fillna({"prompt_cache_tokens": 0, "reasoning_tokens": 0})
    grouped = records.groupby(["task", "labeler"], sort=True)
    table = grouped[[*COUNTS, "seconds"]].sum()
    table["dollars"] = grouped["dollars"].apply(total_or_unknown)
    table["backend"] = grouped["backend"].first()
    return table.reset_index()[COST_COLUMNS]
