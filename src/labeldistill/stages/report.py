"""Stage: every metric and agreement JSON -> the tables, the figures and report.html."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from labeldistill.errors import LabelDistillError
from labeldistill.figures import write_figures
from labeldistill.report_html import write_report
from labeldistill.tables import (
    build_tables,
    load_agreement_records,
    load_metric_records,
    write_tables,
)
from labeldistill.usage import load_usage_records

log = logging.getLogger(__name__)


def run(
    metric_files: Sequence[Path],
    agreement_files: Sequence[Path],
    tables_dir: Path,
    figures_dir: Path,
    html_path: Path,
    usage_files: Sequence[Path] = (),
) -> None:
    """Write per_task, medians, gaps, agreement, cost as .csv/.md/.tex; f1_by_task.png,
    f1_by_condition.png, f1_against_cost.png; and one self-contained HTML report."""
    if not metric_files:
        raise LabelDistillError("report: no metrics files given (did the workflow find no tasks?)")
    records = load_metric_records(metric_files)
    agreement = load_agreement_records(agreement_files)
    tables = build_tables(records, agreement, load_usage_records(usage_files))
    written = write_tables(tables, Path(tables_dir))
    figures = write_figures(tables["per_task"], Path(figures_dir), tables.get("cost"))
    write_report(Path(html_path), tables, figures)
    log.info(
        "%d metrics files, %d agreement files -> %d table files, %d figures, %s",
        len(records),
        len(agreement),
        len(written),
        len(figures),
        html_path,
    )
