"""Stage: split a task's texts into pool / val / test parquet files."""

from __future__ import annotations

import logging
from pathlib import Path

from labeldistill.contracts import SPLIT, write_table
from labeldistill.splits import SplitSizes, split_task
from labeldistill.tasks import TaskSpec, load_texts

log = logging.getLogger(__name__)


def run(task: TaskSpec, sizes: SplitSizes, seed: int, outputs: dict[str, Path]) -> None:
    texts = load_texts(task)
    parts = split_task(texts, sizes, seed, task=task.name)
    for name, path in outputs.items():
        write_table(parts[name], path, SPLIT, labels=list(task.labels))
        counts = parts[name]["label"].value_counts().to_dict()
        log.info("%s/%s: %d texts %s", task.name, name, len(parts[name]), counts)
