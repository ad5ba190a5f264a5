"""Stage: label one part of a task with one labeler; write a LABELS table and its usage.
A `local` labeler labels all parts of a task in one job instead (`run_local`): the model is
loaded and calibrated once.

Read, call, write: the part (and the pool and codebook an LLM's prompt is built from) are read,
the labeler's settings parsed once (`parse_labeler`), `teachers.factory.make_teacher` gives
its teacher (`human`, `local`, `openai`, `vllm`), its results become the LABELS table, and the
table is written with the teacher's usage record (requests, tokens, cache hits, dollars,
seconds) beside it, unless too many texts failed (labelled_parts.check_failures).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from labeldistill.contracts import (
    CALIBRATION,
    LABELS,
    SPLIT,
    USAGE,
    read_table,
    write_record,
    write_table,
)
from labeldistill.errors import LabelDistillError
from labeldistill.teachers.base import TaskContext, Teacher
from labeldistill.teachers.factory import make_teacher
from labeldistill.teachers.labelled_parts import check_failures, usage_record
from labeldistill.teachers.prompts.examples import with_question
from labeldistill.teachers.result import labels_table
from labeldistill.teachers.settings import LocalSettings, parse_labeler

log = logging.getLogger(__name__)


def read_codebook(codebook: Path, question: str) -> str:
    """The codebook as prompts show it: with the task's question after it."""
    return with_question(Path(codebook).read_text(encoding="utf-8"), question)


def label_part(teacher: Teacher, part: pd.DataFrame) -> pd.DataFrame:
    """The LABELS table of `teacher`'s labels of the texts of a split part."""
    ids = [str(i) for i in part["id"]]
    frame = labels_table(teacher.label(list(part["text"]), ids), ids, teacher.labeler, teacher.backend)
    failed = int(frame["label"].isna().sum())
    log.info("%s: %d labelled, %d failed", teacher.labeler, len(frame) - failed, failed)
    return frame


def run(
    part_split: Path | pd.DataFrame,
    pool_split: Path | None,
    codebook: Path | None,
    labels: Sequence[str],
    labeler: str,
    settings: Mapping,
    out_path: Path,
    usage_path: Path | None = None,
    model_dir: Path | None = None,
    threads: int = 1,
    task: str = "",
    cache_dir: Path | None = None,
    server_log: Path | None = None,
    calibration_path: Path | None = None,
    question: str = "",
) -> None:
    """Label one part (a SPLIT file, or its table: a chunk of uncoded texts); `settings` is the
    labeler's config block ({"backend": "human"} for the human labels); `question` is added
    after the codebook (see `examples.with_question`)."""
    started = time.perf_counter()
    settings = None if settings.get("backend", "human") == "human" else parse_labeler(labeler, settings)
    part = part_split if isinstance(part_split, pd.DataFrame) else read_table(part_split, SPLIT)
    context = TaskContext(
        name=task,
        labels=list(labels),
        codebook=read_codebook(codebook, question) if codebook is not None else "",
        pool=read_table(pool_split, SPLIT) if pool_split is not None else None,
        gold=dict(zip(part["id"].astype(str), part["label"], strict=True)),
    )
    teacher = make_teacher(
        labeler,
        settings,
        context,
        threads=threads,
        model_dir=model_dir,
        cache_dir=cache_dir,
        server_log=server_log,
        calibration_path=calibration_path,
    )
    frame = label_part(teacher, part)
    log.info("provenance: %s", teacher.provenance)
    check_failures(frame, labeler, settings)
    write_table(frame, out_path, LABELS, labels=list(context.labels))
    if usage_path is not None:
        seconds = time.perf_counter() - started
        record = usage_record(frame, task, labeler, teacher.backend, teacher.usage.to_dict(), seconds)
        write_record(record, usage_path, USAGE)


def run_local(
    splits: dict[str, Path],
    codebook: Path,
    labels: Sequence[str],
    labeler: str,
    settings: Mapping,
    model_record: Path,
    labels_paths: dict[str, Path],
    usage_paths: dict[str, Path],
    calibration_path: Path,
    threads: int = 1,
    task: str = "",
    question: str = "",
) -> None:
    """Label every part of a task (`splits`: part -> split, the pool among them) with a local
    labeler: one teacher, the model loaded once, calibrated once on the pool, then each part
    labelled; `question` is added after the codebook (see `examples.with_question`).

    Writes a LABELS table and a USAGE record per part, and the calibration record (with
    `calibration_texts: 0`, one of method "none"), the probabilities the same as one job per
    part would give: one job because loading took about 18 s of every 44-88 s part job on two
    slow cores. Nothing is written unless every part passes `check_failures`.
    A part's seconds are its own labeling plus a share of the load and calibration by texts.
    """
    from labeldistill.teachers.local.calibration import calibration_record
    from labeldistill.teachers.local.models import open_local_model

    started = time.perf_counter()
    settings = parse_labeler(labeler, settings)
    if not isinstance(settings, LocalSettings):
        raise LabelDistillError(
            f"config key labelers.{labeler}.backend: run_local labels with a local labeler, "
            f"not {settings.backend!r}"
        )
    labels = list(labels)
    parts = {part: read_table(path, SPLIT) for part, path in splits.items()}
    context = TaskContext(task, labels, read_codebook(codebook, question), parts["pool"])
    teacher = make_teacher(
        labeler, settings, context, threads=threads, model_dir=open_local_model(model_record)
    )
    shared = time.perf_counter() - started
    log.info("%s: model loaded and calibrated in %.1f s", labeler, shared)
    frames, usages, seconds = {}, {}, {}
    for part, texts in parts.items():
        part_started = time.perf_counter()
        log.info("%s: labelling %s (%d texts)", labeler, part, len(texts))
        frame = label_part(teacher, texts)
        check_failures(frame, labeler, settings)
        frames[part], usages[part] = frame, teacher.usage
        seconds[part] = time.perf_counter() - part_started
    log.info("provenance: %s", teacher.provenance)
    total = sum(len(frame) for frame in frames.values()) or 1
    record = calibration_record(teacher.calibration, teacher.prompt.hash, labels, labeler, settings, task)
    write_record(record, calibration_path, CALIBRATION)
    for part, frame in frames.items():
        write_table(frame, labels_paths[part], LABELS, labels=labels)
        part_seconds = seconds[part] + shared * len(frame) / total
        record = usage_record(frame, task, labeler, teacher.backend, usages[part].to_dict(), part_seconds)
        write_record(record, usage_paths[part], USAGE)
