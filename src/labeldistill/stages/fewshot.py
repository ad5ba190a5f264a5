"""Stage: the LLM as a few-shot classifier, its labels of the test texts as predictions."""

from __future__ import annotations

import logging
from pathlib import Path

from labeldistill.contracts import LABELS, PREDICTIONS, no_label_line, read_table, table_labels, write_table
from labeldistill.errors import LabelDistillError

log = logging.getLogger(__name__)


def run(test_labels: Path, out_path: Path) -> None:
    """LABELS table of the test part -> PREDICTIONS table (id, label, probabilities).

    A failed text keeps its null label: evaluation counts it as wrong. A part with no label at
    all is an error, whatever `max_failed_share` allows: its F1 of 0 would read as a result.
    """
    labels = read_table(test_labels, LABELS)
    predictions = labels[["id", "label", "probabilities"]].reset_index(drop=True)
    failed = int(predictions["label"].isna().sum())
    if failed == len(predictions):
        raise LabelDistillError(
            no_label_line(
                test_labels,
                labels,
                "test",
                "the few-shot condition has nothing to score and no predictions were written",
            )
        )
    log.info("%s: %d predictions, %d failed", out_path, len(predictions), failed)
    write_table(predictions, out_path, PREDICTIONS, labels=table_labels(test_labels))
