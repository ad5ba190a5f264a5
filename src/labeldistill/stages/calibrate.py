"""Stage: a local labeler's calibration, measured once per task for every part to use.

The teacher is made exactly as the labeling stage makes it (teachers/local_calibration.py):
`calibration_texts` pool texts (never examples; their labels unread) are scored once, and what
they show (the mean prediction, the target prior, the decision offsets) is written as a record
beside the labels. The workflow measures it inside the job that labels the task's parts
(`annotate.run_local`); `run` does it alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from labeldistill.contracts import CALIBRATION, SPLIT, read_table, write_record
from labeldistill.teachers.base import TaskContext
from labeldistill.teachers.local import LocalTeacher
from labeldistill.teachers.local_calibration import calibration_record
from labeldistill.teachers.settings import check_labeler

log = logging.getLogger(__name__)


def run(
    pool_split: Path,
    codebook: Path,
    labels: Sequence[str],
    labeler: str,
    settings: dict,
    model_dir: Path,
    out_json: Path,
    threads: int = 1,
    task: str = "",
) -> None:
    """Measure the calibration with the converted model in `model_dir` and write its record."""
    settings = check_labeler(labeler, dict(settings))
    labels = [str(label) for label in labels]
    pool = read_table(pool_split, SPLIT)
    context = TaskContext(task, labels, Path(codebook).read_text(encoding="utf-8"), pool)
    teacher = LocalTeacher.for_labeler(labeler, settings, context, model_dir, threads)  # logs what it found
    write_record(
        calibration_record(teacher.calibration, teacher.prompt.hash, labels, labeler, settings, task),
        out_json,
        CALIBRATION,
    )
