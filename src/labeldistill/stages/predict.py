"""Stage: a trained student labels the test texts and writes a PREDICTIONS table."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pandas as pd

from labeldistill.contracts import PREDICTIONS, SPLIT, read_table, write_table
from labeldistill.students import load_student

log = logging.getLogger(__name__)


def run(student_dir: Path, test_texts: Path, out_path: Path, threads: int = 1) -> None:
    out_path = Path(out_path)
    student = load_student(Path(student_dir), threads=threads)
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
