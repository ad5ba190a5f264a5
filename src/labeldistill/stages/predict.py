"""Stage: a trained student labels the test texts and writes a PREDICTIONS table.

The train stage calls `write_predictions` with the student it has just fitted (one job trains
and predicts: loading torch and the model again for 200 texts cost more than the prediction);
`run` predicts with a saved student.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pandas as pd

from labeldistill.contracts import PREDICTIONS, SPLIT, read_table, write_table
from labeldistill.students import Student, load_student

log = logging.getLogger(__name__)


def write_predictions(student: Student, test_texts: Path, out_path: Path) -> None:
    """The student's labels and probabilities of the test texts as a PREDICTIONS table."""
    out_path = Path(out_path)
    test = read_table(test_texts, SPLIT)  # the human label stays unseen here
    started = time.perf_counter()
    proba = student.predict_proba(list(test["text"].fillna("")))
    seconds = time.perf_counter() - started
    frame = pd.DataFrame(
        {
            "id": test["id"],
            "label": [student.labels[i] for i in proba.argmax(axis=1)] if len(proba) else [],
            "probabilities": [[float(p) for p in row] for row in proba],
        }
    )
    write_table(frame, out_path, PREDICTIONS, labels=student.labels)
    log.info(
        "%s: %d test texts in %.1f s, predicted %s",
        out_path,
        len(frame),
        seconds,
        frame["label"].value_counts().to_dict(),
    )


def run(student_dir: Path, test_texts: Path, out_path: Path, threads: int = 1) -> None:
    """A saved student (e.g. one kept from an earlier run) predicts the test texts."""
    write_predictions(load_student(Path(student_dir), threads=threads), test_texts, out_path)
