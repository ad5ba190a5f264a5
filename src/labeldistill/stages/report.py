"""Stage: every metric, comparison, agreement and split record -> tables, figures, report.html."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from labeldistill.errors import LabelDistillError
from labeldistill.report.answer import answer_sentences
from labeldistill.report.budget_figure import plot_label_budget
from labeldistill.report.figures import write_figures
from labeldistill.report.html import write_report
from labeldistill.report.table_formats import write_tables
from labeldistill.report.table_records import (
    load_agreement_records,
    load_comparisons,
    load_corpus_estimates,
    load_disagreements,
    load_metric_json,
    load_metric_records,
    load_split_summaries,
    load_uncoded_records,
)
from labeldistill.report.tables import build_tables, task_facts
from labeldistill.report.usage import load_usage_records

log = logging.getLogger(__name__)

DISAGREEMENTS_SHOWN = 10  # per task and LLM labeler on the page


def run(
    metric_files: Sequence[Path],
    agreement_files: Sequence[Path],
    tables_dir: Path,
    figures_dir: Path,
    html_path: Path,
    usage_files: Sequence[Path] = (),
    comparison_files: Sequence[Path] = (),
    split_files: Sequence[Path] = (),
    corpus_files: Sequence[Path] = (),
    human_cost_per_label: float | None = None,
    uncoded_plan_files: Sequence[Path] = (),
    uncoded_check_files: Sequence[Path] = (),
    disagreement_files: Sequence[Path] = (),
) -> None:
    """Write the tables (per_task, medians, gaps, label_budget, paper, agreement, coders, data,
    cost; corpus when tasks have one; disagreements when there are LLM labelers) as
    .csv/.md/.tex, the figures as .png (label_budget_cost too when human labels have a price),
    and one self-contained HTML report that opens with its answer (`report.answer`)."""
    if not metric_files:
        raise LabelDistillError("report: no metrics files given (did the workflow find no tasks?)")
    records = load_metric_records(metric_files)
    agreement = load_agreement_records(agreement_files)
    intervals, gaps = load_comparisons(comparison_files)
    splits = load_split_summaries(split_files)
    tables = build_tables(
        records,
        agreement,
        load_usage_records(usage_files),
        intervals=intervals,
        gaps=gaps,
        splits=splits,
        corpus=(corpus := load_corpus_estimates(corpus_files)),
        human_cost_per_label=human_cost_per_label,
        uncoded=(uncoded := load_uncoded_records(uncoded_plan_files, uncoded_check_files)),
    )
    if tables["per_class"].empty:  # no task is scored by macro-F1: no empty table is written
        del tables["per_class"]
    if disagreement_files:
        tables["disagreements"] = load_disagreements(disagreement_files)
    written = write_tables(tables, Path(tables_dir))
    figures = write_figures(tables, Path(figures_dir), load_metric_json(metric_files), corpus=corpus)
    budget, per_task = tables["label_budget"], tables["per_task"]
    figures["label_budget"] = plot_label_budget(budget, per_task, Path(figures_dir) / "label_budget.png")
    if human_cost_per_label is not None:
        figures["label_budget_cost"] = plot_label_budget(
            budget, per_task, Path(figures_dir) / "label_budget_cost.png", view="dollars"
        )
    warnings = {"corpus": [f"{record['task']}: {text}" for record in corpus for text in record["warnings"]]}
    if corpus and not warnings["corpus"]:
        warnings["corpus"] = ["None: no check speaks against the assumption (no check can prove it)."]
    warnings["uncoded"] = [
        f"{c['task']}, {c['labeler']}: {text}" for c in uncoded[1] for text in c["warnings"]
    ]
    if uncoded[1] and not warnings["uncoded"]:
        warnings["uncoded"] = ["None: no check speaks against the assumption (no check can prove it)."]
    thin = [f"{task}: {note}" for task, facts in task_facts(splits).items() for note in facts["notes"]]
    warnings["per_task"] = warnings["data"] = thin
    for line in thin:
        log.warning("%s", line)
    answer = answer_sentences(tables, corpus)
    for sentence in answer:
        log.info("%s", sentence)
    # The page lists each task's and labeler's most confident disagreements; the CSV holds all.
    shown = dict(tables)
    if "disagreements" in tables:
        shown["disagreements"] = (
            tables["disagreements"].groupby(["task", "labeler"], sort=False).head(DISAGREEMENTS_SHOWN)
        )
    write_report(Path(html_path), shown, figures, warnings=warnings, answer=answer)
    log.info(
        "%d metrics files, %d comparison files, %d agreement files -> %d table files, %d figures, %s",
        len(records),
        len(comparison_files),
        len(agreement),
        len(written),
        len(figures),
        html_path,
    )
