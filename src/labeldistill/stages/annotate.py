"""Stage: label one part of a task with one labeler and write a LABELS table."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from labeldistill.contracts import LABELS, SPLIT, read_table, write_table
from labeldistill.errors import LabelDistillError

log = logging.getLogger(__name__)

DEFAULT_SHOTS = 16
# Batch calibration (see LocalTeacher): without it the small model gives one label to nearly
# every text.
DEFAULT_CALIBRATION_TEXTS = 32


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


def calibration_sample(pool: pd.DataFrame, examples: Sequence, size: int, seed: int) -> list[str]:
    """Pool texts (never examples) whose mean prediction is the prompt's prior.

    Fixed per prompt (seed and pool content, not row order), so that every part of a task is
    labelled with the same prior; their labels are never read.
    """
    shown = {example.text for example in examples}
    candidates = pool[~pool["text"].isin(shown)].sort_values("id", kind="stable")
    if size <= 0 or candidates.empty:
        return []
    chosen = candidates.sample(n=min(size, len(candidates)), random_state=seed)
    return list(chosen["text"])


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

    seed = int(settings.get("shots_seed", 0))
    examples = draw_examples(pool, int(settings.get("shots", DEFAULT_SHOTS)), seed)
    prompt = build_prompt(codebook, labels, examples)
    calibration = calibration_sample(
        pool, examples, int(settings.get("calibration_texts", DEFAULT_CALIBRATION_TEXTS)), seed
    )
    teacher = LocalTeacher(
        model_dir,
        labels,
        prompt,
        threads=threads,
        model_name=str(settings["model"]),
        max_text_tokens=int(settings.get("max_text_tokens", 256)),
        calibration_texts=calibration,
    )
    log.info(
        "%s: %d texts, %d examples, %d calibration texts, prompt %s",
        labeler,
        len(part),
        len(examples),
        len(calibration),
        prompt.hash,
    )
    results = teacher.label(list(part["text"]))
    log.info("provenance: %s", teacher.provenance)
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
            f"config key labelers.{labeler}.backend: unknown backend {backend!r} (valid: local)"
        )
    failed = frame["label"].isna().sum()
    log.info("%s: %d labelled, %d failed", out_path, len(frame) - failed, failed)
    write_table(frame, out_path, LABELS, labels=list(labels))
