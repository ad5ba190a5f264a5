"""Stage: the shares of the labels in a task's corpus (naive, human-only, PPI++) as a JSON record."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from labeldistill.contracts import (
    CORPUS_ESTIMATES,
    CORPUS_LABELS,
    PREDICTIONS,
    SPLIT,
    read_table,
    table_labels,
    write_record,
)
from labeldistill.corpus.estimates import average_predictions, covariates_by_id, estimate_corpus
from labeldistill.errors import LabelDistillError

log = logging.getLogger(__name__)


def test_covariates(
    texts_path: Path, id_column: str, covariates: Sequence[str], ids: Sequence[str], task: str
) -> pd.DataFrame:
    """The covariates of the test texts, read from the task's texts file by id (strings)."""
    path = Path(texts_path)
    if path.suffix == ".parquet":
        raw = pd.read_parquet(path)
    else:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in [id_column, *covariates] if c not in raw.columns]
    if missing:
        raise LabelDistillError(
            f"config key tasks.{task}.corpus.covariates: {path} lacks column(s) {missing}: the test "
            "texts' covariates come from the task's texts file"
        )
    return covariates_by_id(raw, id_column, covariates, ids)


def run(
    corpus_labels: Path,
    test_texts: Path,
    prediction_files: Sequence[Path],
    training_texts: Sequence[Path],
    out_path: Path,
    meta: dict,
    labels: Sequence[str],
    positive_label: str,
    covariates: Sequence[str] = (),
    task_texts: Path | None = None,
    task_id_column: str = "id",
    half_width: float = 0.03,
) -> None:
    corpus = read_table(corpus_labels, CORPUS_LABELS)
    if table_labels(corpus_labels) != list(labels):
        raise LabelDistillError(
            f"{corpus_labels}: labels {table_labels(corpus_labels)}, the task's are {list(labels)}"
        )
    test = read_table(test_texts, SPLIT)
    for path in prediction_files:
        if table_labels(path) != list(labels):
            raise LabelDistillError(f"{path}: labels {table_labels(path)}, the task's are {list(labels)}")
    probabilities = average_predictions(
        [read_table(path, PREDICTIONS) for path in prediction_files], test["id"], str(prediction_files[0])
    )
    training_ids = (
        pd.concat([read_table(path, SPLIT)["id"] for path in training_texts]) if training_texts else []
    )
    covariate_frame = (
        test_covariates(task_texts, task_id_column, covariates, test["id"], meta["task"])
        if covariates
        else None
    )
    estimates = estimate_corpus(
        corpus,
        test,
        probabilities,
        labels,
        positive_label,
        covariates=covariates,
        test_covariates=covariate_frame,
        training_ids=list(training_ids),
        half_width=half_width,
    )
    record = {
        **meta,
        "labels": list(labels),
        "positive_label": positive_label,
        "n_corpus": len(corpus),
        "n_test": len(test),
        "covariates": list(covariates),
        "half_width": half_width,
        **estimates,
    }
    write_record(record, out_path, CORPUS_ESTIMATES)
    shares = pd.DataFrame(estimates["shares"])
    log.info(
        "%s: %d corpus texts, %d test texts\n%s",
        out_path,
        len(corpus),
        len(test),
        shares[shares["label"] == positive_label].to_string(index=False),
    )
