"""The teacher a labeler's settings ask for:

    settings = parse_labeler("gpt", {"backend": "openai", "model": "gpt-4o-mini"})  # at the job's boundary
    teacher = make_teacher("gpt", settings, task, cache_dir=...)
    results = teacher.label(texts, ids)        # one TeacherLabel per text
    labels_table(results, ids, "gpt", teacher.backend), teacher.usage

One module per backend (human, local/, openai/, vllm), each imported only when
a teacher of its kind is made (torch is not loaded for an API labeler, nor vLLM anywhere else).
The factory lives here rather than in teachers/__init__.py: a package's __init__ is part of the
code fingerprint of every stage that imports any module under it (fingerprint.py), and
prepare_model, which imports only local_models, would otherwise rerun on an edit to any backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.base import TaskContext, Teacher
from labeldistill.teachers.prompts.examples import Example
from labeldistill.teachers.settings import LabelerBlock

BACKENDS = ("human", "local", "openai", "vllm")


def make_teacher(
    labeler: str,
    settings: LabelerBlock | None,
    task: TaskContext,
    *,
    examples: Sequence[Example] | None = None,
    threads: int = 1,
    model_dir: Path | None = None,
    cache_dir: Path | None = None,
    server_log: Path | None = None,
    calibration_path: Path | None = None,
) -> Teacher:
    """A ready teacher for labeler `labeler` (its settings, `parse_labeler` of its config block;
    None: the human labels).

    `examples` replaces the labeler's own few-shot examples (the codebook check reorders them);
    `model_dir` is a local labeler's converted model folder, loaded here, and `calibration_path`
    its measured calibration (else it is measured on the pool); `cache_dir` holds the response
    cache of the chat backends, `server_log` the log of a server an `openai` labeler starts.
    """
    backend = "human" if settings is None else settings.backend
    if backend == "human":
        from labeldistill.teachers.human import HumanTeacher

        return HumanTeacher(task.gold, task.labels, labeler, task.name)
    if backend == "local":
        from labeldistill.teachers.local.teacher import LocalTeacher

        return LocalTeacher.for_labeler(
            labeler, settings, task, model_dir, threads, calibration_path, examples
        )
    if backend == "openai":
        from labeldistill.teachers.openai.teacher import OpenAIEndpointTeacher

        return OpenAIEndpointTeacher(labeler, settings, task, examples, cache_dir, server_log)
    if backend == "vllm":
        from labeldistill.teachers.vllm import VllmTeacher

        return VllmTeacher(labeler, settings, task, examples, cache_dir)
    raise LabelDistillError(
        f"config key labelers.{labeler}.backend: unknown backend {backend!r} "
        f"(valid: {', '.join(BACKENDS[1:])})"
    )
