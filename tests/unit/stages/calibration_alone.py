"""A local labeler's calibration record measured on its own, outside any labeling job: the
reference the annotate stage's in-job measurement must equal."""

from __future__ import annotations

from pathlib import Path

from labeldistill.contracts import CALIBRATION, SPLIT, read_table, write_record
from labeldistill.teachers.base import TaskContext
from labeldistill.teachers.local.calibration import calibration_record
from labeldistill.teachers.local.teacher import LocalTeacher
from labeldistill.teachers.settings import parse_labeler


def measure_alone(pool_split, codebook, labels, labeler, settings, model_dir, out_json, threads=1, task=""):
    """`settings` is the labeler's config block, parsed here as a job parses it."""
    settings = parse_labeler(labeler, settings)
    pool = read_table(pool_split, SPLIT)
    context = TaskContext(task, list(labels), Path(codebook).read_text(encoding="utf-8"), pool)
    teacher = LocalTeacher.for_labeler(labeler, settings, context, model_dir, threads)
    record = calibration_record(
        teacher.calibration, teacher.prompt.hash, list(labels), labeler, settings, task
    )
    write_record(record, out_json, CALIBRATION)
