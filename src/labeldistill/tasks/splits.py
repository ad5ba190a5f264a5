"""Fixed, stratified pool / val / test parts of a task.

`test` is held out for evaluation only; `val` is the validation sample (the LLM's agreement
with humans, students' early stopping); `pool` is what labelers label for training and where
few-shot examples come from. The parts are fixed per task (one split seed) so that every
condition is scored on the same test texts and the comparisons are paired.

Texts that are the same after normalising case and whitespace always land in one part
(`sampling.stratified_draw` draws them as a group): a test text never has a twin in the pool,
where the students train and the few-shot examples come from.

The sizes and seed are the config's `split`, over which a task's own `split` block goes
(`task_split_settings`): a task with a rare category can hold out a larger test part.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from labeldistill.errors import LabelDistillError
from labeldistill.tasks.sampling import duplicate_keys, stratified_draw

PARTS = ("pool", "val", "test")


@dataclass(frozen=True)
class SplitSizes:
    test: int
    val: int
    pool: int | None = None  # None: every text left after test and val

    @classmethod
    def from_config(cls, settings: dict) -> SplitSizes:
        return cls(test=int(settings["test"]), val=int(settings["val"]), pool=settings.get("pool"))


def task_split_settings(split: Mapping, task: Mapping) -> dict:
    """The config's `split` settings (seed, test, val, pool) with the task's own `split` block
    over them."""
    return {**split, **(task.get("split") or {})}


def split_task(texts: pd.DataFrame, sizes: SplitSizes, seed: int, task: str = "") -> dict[str, pd.DataFrame]:
    """Split (id, text, label) rows into the three parts, each sorted by id for stable files."""
    needed = sizes.test + sizes.val + (sizes.pool or 0)
    if needed > len(texts) or sizes.test < 1 or sizes.val < 1:
        raise LabelDistillError(
            f"config key split: test={sizes.test}, val={sizes.val}, pool={sizes.pool} need "
            f"{needed} texts (test and val at least 1) but task {task!r} has {len(texts)}"
        )
    grouped = texts.assign(_twin=duplicate_keys(texts["text"]))
    test, rest = stratified_draw(grouped, sizes.test, seed, group="_twin")
    val, rest = stratified_draw(rest, sizes.val, seed + 1, group="_twin")
    pool = rest if sizes.pool is None else stratified_draw(rest, int(sizes.pool), seed + 2, group="_twin")[0]
    if len(pool) < 2:
        raise LabelDistillError(f"config key split.pool: task {task!r} leaves {len(pool)} pool texts")
    return {
        name: part.drop(columns="_twin").sort_values("id").reset_index(drop=True)
        for name, part in {"pool": pool, "val": val, "test": test}.items()
    }
