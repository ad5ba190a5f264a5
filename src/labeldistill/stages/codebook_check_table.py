"""Stage: the codebook check's table from every labeler's record (see labeldistill.teachers.codebook_check):
results/tables/codebook_check.{csv,md,tex}, each labeler's figures and a plain verdict."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from labeldistill.contracts import CODEBOOK_CHECK, read_record
from labeldistill.report.table_formats import write_tables
from labeldistill.teachers.codebook_check import check_table

log = logging.getLogger(__name__)


def run(records: Iterable[Path], thresholds: Mapping, tables_dir: Path) -> None:
    table = check_table([read_record(path, CODEBOOK_CHECK) for path in records], thresholds)
    write_tables({"codebook_check": table}, Path(tables_dir))
    for row in table.itertuples(index=False):
        log.info("%s %s: %s", row.task, row.labeler, row.verdict)
