"""Stage: the LLM as a few-shot classifier, its labels of the test texts as predictions."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from labeldistill.contracts import LABELS, PREDICTIONS, read_table, table_labels, write_table
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
        raise LabelDistillError(_no_label_message(test_labels, labels))
    log.info("%s: %d predictions, %d failed", out_path, len(predictions), failed)
    write_table(predictions, out_path, PREDICTIONS, labels=table_labels(test_labels))


def _no_label_message(test_labels: Path, labels) -> str:
    names = labels["labeler"].dropna().unique()
    labeler = names[0] if len(names) else Path(test_labels).parent.name
    errors = Counter(" ".join(str(e).split()) for e in labels["error"].dropna() if str(e).strip())
    common = errors.most_common(1)[0][0][:200] if errors else "no error given"
    return (
        f"{test_labels}: 0 of {len(labels)} test texts have a label from labeler {labeler} (every "
        f"answer failed or fell outside the labels; most common error: {common}), so the few-shot "
        "condition has nothing to score and no predictions were written; check the labeler's "
        "server, model and codebook, and the error column of that file"
    )
