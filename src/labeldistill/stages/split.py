"""Stage: split a task's texts into pool / val / test parquet files and a summary record.

The summary (sizes, label counts, duplicate texts) goes into the report's data table, so a
reader sees how many twins a task has and that they were kept in one part. The split is drawn
on the file's own labels; a one-vs-rest task writes its parts with its two labels
(`tasks.map_labels`), so the K tasks of one scheme hold the same texts in the same parts.
"""

from __future__ import annotations

import logging
from pathlib import Path

from labeldistill.contracts import SPLIT, SPLIT_SUMMARY, write_record, write_table
from labeldistill.tasks.sampling import duplicate_summary
from labeldistill.tasks.spec import TaskSpec, load_texts, map_labels
from labeldistill.tasks.splits import SplitSizes, split_task

log = logging.getLogger(__name__)


def run(
    task: TaskSpec, sizes: SplitSizes, seed: int, outputs: dict[str, Path], summary_path: Path | None = None
) -> None:
    texts = load_texts(task)
    duplicates = duplicate_summary(texts)
    log.info(
        "%s: %d texts; %d share their text (case and whitespace aside) with another, in %d groups "
        "(%d groups with conflicting labels); each group is kept in one part",
        task.name,
        len(texts),
        duplicates["n_texts_in_duplicate_groups"],
        duplicates["n_duplicate_groups"],
        duplicates["n_groups_with_conflicting_labels"],
    )
    parts = split_task(texts, sizes, seed, task=task.name)
    parts = {name: part.assign(label=map_labels(task, part["label"])) for name, part in parts.items()}
    summary = {
        "task": task.name,
        "task_group": task.task_group,
        "labels": list(task.labels),
        "headline": task.headline,
        "split": {"seed": int(seed), "test": sizes.test, "val": sizes.val, "pool": sizes.pool},
        "n_texts": len(texts),
        "parts": {},
        "duplicates": duplicates,
    }
    for name, path in outputs.items():
        write_table(parts[name], path, SPLIT, labels=list(task.labels))
        counts = parts[name]["label"].value_counts()
        summary["parts"][name] = {
            "n": len(parts[name]),
            "label_counts": {label: int(counts.get(label, 0)) for label in task.labels},
        }
        log.info("%s/%s: %d texts %s", task.name, name, len(parts[name]), counts.to_dict())
    summary["positive_label"] = task.positive_label
    if summary_path is not None:
        write_record(summary, summary_path, SPLIT_SUMMARY)
