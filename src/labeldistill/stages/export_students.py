"""Stage: a task's trained students, each with its final model card, in one exported folder.

The train job's card cannot hold the test score, which the evaluate job computes later, and no
job may write into the train job's folder (Snakemake refuses an output inside another rule's
directory output). So this stage copies every student of a task into
`results/{task}/export/{student}/{labeler}/n{size}/seed{seed}/` and writes its README.md there
again, now with the test score and its interval (students/card.py). The model files are hard
links to the train job's (a MiniLM student is 90 MB: no disk spent twice; a copy where the file
system cannot link); the card is a file of its own. The folder is written under a hidden name
and renamed when whole.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from labeldistill.contracts import METRICS, TRAINING, read_record
from labeldistill.stages.train import TRAINING_FILE
from labeldistill.students import saved_student
from labeldistill.students.card import CARD_FILE, model_card

log = logging.getLogger(__name__)


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(source, target)


def export_student(student_dir: Path, metrics: Path, target: Path) -> None:
    """One student's files (hidden ones, such as Snakemake's timestamp, left out) and its card."""
    student_dir = Path(student_dir)
    meta = saved_student(student_dir)  # a folder without a valid student.json is one line
    for path in sorted(student_dir.rglob("*")):
        relative = path.relative_to(student_dir)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            if relative != Path(CARD_FILE):
                _link_or_copy(path, target / relative)
    training = read_record(student_dir / TRAINING_FILE, TRAINING)
    card = model_card(training, meta, read_record(metrics, METRICS))
    (target / CARD_FILE).write_text(card, encoding="utf-8")


def run(student_dirs: Sequence[Path], metrics: Sequence[Path], names: Sequence[str], out_dir: Path) -> None:
    """Every student (with its metrics record) under `out_dir`/name, name as in the student's path."""
    if not len(student_dirs) == len(metrics) == len(names):
        raise ValueError("one metrics file and one name per student folder")
    out_dir = Path(out_dir)
    partial = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        for student_dir, record, name in zip(student_dirs, metrics, names, strict=True):
            export_student(Path(student_dir), Path(record), partial / name)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        partial.mkdir(parents=True, exist_ok=True)  # a task without students: an empty folder
        os.replace(partial, out_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log.info("%s: %d students with their cards", out_dir, len(names))
