"""Fixed, stratified pool / val / test parts of a task.

`test` is held out for evaluation only; `val` is the validation sample (the LLM's agreement
with humans, students' early stopping); `pool` is what labelers label for training and where
few-shot examples come from. The parts are fixed per task (one split seed) so that every
condition is scored on the same test texts and the comparisons are paired.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.model_selection import train_test_split

from labeldistill.errors import LabelDistillError

PARTS = ("pool", "val", "test")


@dataclass(frozen=True)
class SplitSizes:
    test: int
    val: int
    pool: int | None = None  # None: every text left after test and val

    @classmethod
    def from_config(cls, settings: dict) -> SplitSizes:
        return cls(test=int(settings["test"]), val=int(settings["val"]), pool=settings.get("pool"))


def _take(frame: pd.DataFrame, size: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw `size` rows stratified by label; return (drawn, rest)."""
    if size >= len(frame):
        return frame, frame.iloc[0:0]
    counts = frame["label"].value_counts()
    # Stratify only when every label can appear on both sides.
    stratify = frame["label"] if counts.min() >= 2 and size >= len(counts) else None
    rest, drawn = train_test_split(frame, test_size=size, random_state=seed, stratify=stratify)
    return drawn, rest


def split_task(texts: pd.DataFrame, sizes: SplitSizes, seed: int, task: str = "") -> dict[str, pd.DataFrame]:
    """Split (id, text, label) rows into the three parts, each sorted by id for stable files."""
    needed = sizes.test + sizes.val + (sizes.pool or 0)
    if needed > len(texts) or sizes.test < 1 or sizes.val < 1:
        raise LabelDistillError(
            f"config key split: test={sizes.test}, val={sizes.val}, pool={sizes.pool} need "
            f"{needed} texts (test and val at least 1) but task {task!r} has {len(texts)}"
        )
    test, rest = _take(texts, sizes.test, seed)
    val, rest = _take(rest, sizes.val, seed + 1)
    pool = rest if sizes.pool is None else _take(rest, int(sizes.pool), seed + 2)[0]
    if len(pool) < 2:
        raise LabelDistillError(f"config key split.pool: task {task!r} leaves {len(pool)} pool texts")
    return {
        name: part.sort_values("id").reset_index(drop=True)
        for name, part in {"pool": pool, "val": val, "test": test}.items()
    }
