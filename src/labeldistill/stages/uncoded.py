"""Stages of the uncoded texts (corpus/uncoded.py): plan them, and merge a source's chunks and
check the coded sample against them (a chunk is labelled by stages/annotate_uncoded.py).

- `plan`: the file's rows checked, coded twins and repeats dropped, the seeded order, and the
  first `planned` texts written (the students' training texts) with the plan's counts.
- `merge`: a source's chunks as one LABELS table, and whether the coded test texts look like a
  random sample of the uncoded ones (text length, the LLM's mean probability of each label:
  `corpus.estimates.assumption_checks`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from labeldistill.contracts import (
    LABELS,
    SPLIT,
    UNCODED_CHECK,
    UNCODED_PLAN,
    read_table,
    table_labels,
    write_record,
    write_table,
)
from labeldistill.corpus.chunks import CorpusSpec
from labeldistill.corpus.estimates import assumption_checks
from labeldistill.corpus.uncoded import planned_texts
from labeldistill.errors import LabelDistillError

log = logging.getLogger(__name__)

ASSUMPTION = (
    "The students' test scores hold for the uncoded texts only if the coded texts are a random "
    "sample of the same population; the checks below can show that this fails, never prove that "
    "it holds."
)


def plan(
    uncoded: CorpusSpec,
    coded_parts: Sequence[Path],
    planned: int,
    seed: int,
    chunks: int,
    texts_path: Path,
    summary_path: Path,
) -> None:
    """The texts students of the uncoded texts learn from, and the plan's record."""
    texts, summary = planned_texts(uncoded, coded_parts, planned, seed)
    if texts.empty:
        raise LabelDistillError(
            f"config key tasks.{uncoded.task}.uncoded.texts: none of the {summary['rows']} texts of "
            f"{uncoded.path} is left once the twins of coded texts ({summary['dropped_twins_of_coded']}) "
            f"and repeats ({summary['dropped_repeated']}) are dropped"
        )
    write_table(texts, texts_path, SPLIT)
    record = {"task": uncoded.task, "file": str(uncoded.path), **summary, "chunks": int(chunks)}
    write_record(record, summary_path, UNCODED_PLAN)
    log.info(
        "%s: %d rows; %d dropped as twins of coded texts, %d repeated; %d of %d to label in %d chunks",
        uncoded.path,
        summary["rows"],
        summary["dropped_twins_of_coded"],
        summary["dropped_repeated"],
        summary["planned"],
        summary["available"],
        chunks,
    )


def _probabilities(frame: pd.DataFrame, path: Path, labels: Sequence[str]) -> np.ndarray:
    """(texts, labels): each labelled text's probabilities, its label as 0/1 where it has none."""
    order = table_labels(path) or list(labels)
    take = [order.index(label) for label in labels]
    rows = []
    for label, given in zip(frame["label"], frame["probabilities"], strict=True):
        if given is not None and len(given) == len(order) and all(v is not None for v in given):
            rows.append([float(given[i]) for i in take])
        else:
            rows.append([1.0 if label == other else 0.0 for other in labels])
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(labels))


def merge(
    chunk_labels: Sequence[Path],
    texts_path: Path,
    test_texts: Path,
    test_labels: Path,
    labels: Sequence[str],
    positive_label: str | None,
    task: str,
    labeler: str,
    out_path: Path,
    check_path: Path,
) -> None:
    labels = list(labels)
    frames = [read_table(path, LABELS) for path in chunk_labels]
    merged = (
        pd.concat([f for f in frames if len(f)], ignore_index=True)
        if any(len(f) for f in frames)
        else frames[0]
    )
    repeated = merged["id"][merged["id"].duplicated()]
    if len(repeated):
        raise LabelDistillError(
            f"{labeler}'s uncoded chunks of {task}: id {repeated.iloc[0]!r} is in two chunks"
        )
    write_table(merged, out_path, LABELS, labels=labels)

    texts = read_table(texts_path, SPLIT).set_index("id")["text"]
    test = read_table(test_texts, SPLIT).set_index("id")["text"]
    test_given = read_table(test_labels, LABELS)
    labelled, test_labelled = merged[merged["label"].notna()], test_given[test_given["label"].notna()]
    record = {
        "task": task,
        "labeler": labeler,
        "planned": len(texts),
        "labelled": len(labelled),
        "failed": int(merged["label"].isna().sum()),
        "assumption": ASSUMPTION,
        "checks": {},
        "warnings": [],
    }
    if len(labelled) >= 2 and len(test_labelled) >= 2:
        checks, warnings = assumption_checks(
            texts.reindex(labelled["id"]).fillna("").str.len().to_numpy(),
            test.reindex(test_labelled["id"]).fillna("").str.len().to_numpy(),
            _probabilities(labelled, out_path, labels),
            _probabilities(test_labelled, test_labels, labels),
            labels,
            positive_label or labels[0],
            0,
            corpus_name="uncoded set",
            predictor=f"LLM ({labeler})",
        )
        record["checks"] = {k: v for k, v in checks.items() if "training" not in k}
        record["warnings"] = warnings
    for warning in record["warnings"]:
        log.warning("%s, %s: %s", task, labeler, warning)
    write_record(record, check_path, UNCODED_CHECK)
