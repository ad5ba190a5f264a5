"""Stage: label one part of a task with one labeler and write a LABELS table."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from labeldistill.contracts import LABELS, SPLIT, read_table, write_table
from labeldistill.errors import LabelDistillError

log = logging.getLogger(__name__)


def human_labels(part: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """The gold column as a labeler: one-hot probabilities, no prompt."""
    return pd.DataFrame(
        {
            "id": part["id"],
            "label": part["label"],
            "probabilities": [[float(label == name) for name in labels] for label in part["label"]],
            "error": None,
            "labeler": "human",
            "backend": "human",
            "model": None,
            "prompt_hash": None,
        }
    )


def local_llm_labels(
    part: pd.DataFrame,
    pool: pd.DataFrame,
    codebook: str,
    labels: Sequence[str],
    labeler: str,
    settings: dict,
    model_dir: Path,
    threads: int,
) -> pd.DataFrame:
    """Label texts with the in-process LLM from the codebook and k pool examples."""
    from labeldistill.prompts import build_prompt, draw_examples
    from labeldistill.teachers.local import LocalTeacher

    examples = draw_examples(pool, int(settings.get("shots", 4)), int(settings.get("shots_seed", 0)))
    prompt = build_prompt(codebook, labels, examples)
    teacher = LocalTeacher(
        model_dir, labels, prompt, threads=threads, model_name=str(settings["model"])
    )
    log.info("%s: %d texts, %d examples, prompt %s", labeler, len(part), len(examples), prompt.hash)
    results = teacher.label(list(part["text"]))
    return pd.DataFrame(
        {
            "id": part["id"],
            "label": [r.label for r in results],
            "probabilities": [list(r.probabilities) for r in results],
            "error": [r.error for r in results],
            "labeler": labeler,
            "backend": "local",
            "model": teacher.model_name,
            "prompt_hash": prompt.hash,
        }
    )


def run(
    part_split: Path,
    pool_split: Path,
    codebook: Path | None,
    labels: Sequence[str],
    labeler: str,
    settings: dict,
    out_path: Path,
    model_dir: Path | None = None,
    threads: int = 1,
) -> None:
    part = read_table(part_split, SPLIT)
    backend = settings.get("backend", "human")
    if backend == "human":
        frame = human_labels(part, labels)
    elif backend == "local":
        pool = read_table(pool_split, SPLIT)
        text = Path(codebook).read_text(encoding="utf-8")
        frame = local_llm_labels(part, pool, text, labels, labeler, settings, model_dir, threads)
    else:
        raise LabelDistillError(
            f"config key labelers.{labeler}.backend: unknown backend {backend!r} "
            "(valid: local)"
        )
    failed = frame["label"].isna().sum()
    log.info("%s: %d labelled, %d failed", out_path, len(frame) - failed, failed)
    write_table(frame, out_path, LABELS, labels=list(labels))
