"""Stage: the rows of a corpus file too large to check at parse (ids, texts, encoding), checked by
one cheap job before any chunk is labelled; its record is what the chunk jobs wait for."""

from __future__ import annotations

import logging
from pathlib import Path

from labeldistill.contracts import CORPUS_CHECK, write_record
from labeldistill.corpus.chunks import CorpusSpec, check_rows

log = logging.getLogger(__name__)


def run(corpus: CorpusSpec, out_path: Path) -> None:
    rows = check_rows(corpus)  # a bad row raises its one line; nothing is written
    record = {
        "task": corpus.task,
        "file": str(corpus.path),
        "rows": rows,
        "id_column": corpus.id_column,
        "text_column": corpus.text_column,
    }
    write_record(record, out_path, CORPUS_CHECK)
    log.info("%s: %d rows checked", corpus.path, rows)
