"""Stage: the labelled chunks of a task's corpus, in order, as one table."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from labeldistill.contracts import CORPUS_LABELS, read_table, table_labels, write_table
from labeldistill.corpus.chunks import merge_chunks
from labeldistill.errors import LabelDistillError

log = logging.getLogger(__name__)


def run(chunk_files: Sequence[Path], out_path: Path) -> None:
    out_path = Path(out_path)
    labels = table_labels(chunk_files[0]) if chunk_files else None
    for path in chunk_files[1:]:
        if table_labels(path) != labels:
            raise LabelDistillError(f"{path}: labels {table_labels(path)}, other chunks have {labels}")
    merged = merge_chunks([read_table(path, CORPUS_LABELS) for path in chunk_files], str(out_path))
    write_table(merged, out_path, CORPUS_LABELS, labels=labels)
    log.info(
        "%s: %d chunks, %d texts, labels %s",
        out_path,
        len(chunk_files),
        len(merged),
        merged["label"].value_counts().to_dict(),
    )
