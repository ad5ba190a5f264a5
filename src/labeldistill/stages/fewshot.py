"""Stage: the LLM as a few-shot classifier, its labels of the test texts as predictions."""

from __future__ import annotations

import logging
from pathlib import Path

from labeldistill.contracts import LABELS, PREDICTIONS, read_table, table_labels, write_table

log = logging.getLogger(__name__)


def run(test_labels: Path, out_path: Path) -> None:
    """LABELS table of the test part -> PREDICTIONS table (id, label, probabilities).

    A failed text keeps its null label: evaluation counts it as wrong.
    """
    labels = read_table(test_labels, LABELS)
    predictions = labels[["id", "label", "probabilities"]].reset_index(drop=True)
    failed = int(predictions["label"].isna().sum())
    log.info("%s: %d predictions, %d failed", out_path, len(predictions), failed)
    write_table(predictions, out_path, PREDICTIONS, labels=table_labels(test_labels))
