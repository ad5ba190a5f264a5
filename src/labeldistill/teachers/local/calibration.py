"""The `local` teacher's calibration as a labeler's settings ask for it: which pool texts it is
measured on, which prior it aims at, and a measured one read back (the math is in
labeldistill.teachers.local.prior).

Measured per part, as once, it cost three model passes over the same texts and allowed only 32
of them: with 32 texts the share of labels the decision rule gives wanders by about +-0.08. So
it is measured once per prompt, on `calibration_texts` pool texts, and every part uses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from labeldistill.contracts import CALIBRATION, read_record
from labeldistill.errors import LabelDistillError
from labeldistill.tasks.sampling import draw_ids, normalise
from labeldistill.teachers.local.prior import Calibration, check_target, fit_calibration, label_prior
from labeldistill.teachers.prompts.examples import Example
from labeldistill.teachers.settings import LocalSettings


def calibration_sample(pool: pd.DataFrame, examples: Sequence, size: int, seed: int) -> list[str]:
    """Pool texts (never examples) whose mean prediction is the prompt's prior.

    Fixed per prompt (seed and pool content, not row order), so that every part of a task is
    labelled with the same prior; their labels are never read.
    """
    shown = {normalise(example.text) for example in examples}
    candidates = pool[[normalise(text) not in shown for text in pool["text"]]]
    if size <= 0 or candidates.empty:
        return []
    chosen = set(draw_ids(candidates["id"], size, seed))
    return [
        text for i, text in zip(candidates["id"].astype(str), candidates["text"], strict=True) if i in chosen
    ]


def target_prior_setting(settings: LocalSettings, examples: Sequence[Example], labels: Sequence[str]):
    """The `calibration_prior` setting as the local teacher takes it: for `examples`, the label
    shares of the few-shot examples."""
    prior = settings.calibration_prior
    if prior == "examples":
        return label_prior([example.label for example in examples], labels)
    return prior


def measure_calibration(
    teacher, pool: pd.DataFrame, examples: Sequence, labels: Sequence[str], settings: LocalSettings
) -> Calibration | None:
    """The calibration of a loaded local teacher's prompt, from its calibration texts in the
    pool; None when `calibration_texts` is 0 (raw probabilities)."""
    texts = calibration_sample(pool, examples, settings.calibration_texts, settings.shots_seed)
    if not texts:
        return None
    prior = check_target(target_prior_setting(settings, examples, labels), labels)
    return fit_calibration(teacher.raw_probabilities(texts), prior)


def read_calibration(path: Path, prompt_hash: str, labels: Sequence[str]) -> Calibration:
    """The calibration the calibrate stage measured for this very prompt."""
    record = read_record(path, CALIBRATION)
    if record["prompt_hash"] != prompt_hash or list(record["labels"]) != list(labels):
        raise LabelDistillError(
            f"{path}: measured for prompt {record['prompt_hash']} and labels {record['labels']}, "
            f"not for prompt {prompt_hash} and labels {list(labels)}; measure the calibration again "
            "(labeldistill.stages.calibrate)"
        )
    return Calibration.from_dict(record)


def calibration_record(
    calibration: Calibration | None,
    prompt_hash: str,
    labels: Sequence[str],
    labeler: str,
    settings: LocalSettings,
    task: str,
) -> dict:
    """A CALIBRATION record; without a calibration, one of method "none" and no texts."""
    measured = (
        calibration.to_dict()
        if calibration is not None
        else {
            "method": "none",
            "n_texts": 0,
            "mean_prediction": [],
            "target_prior": [],
            "decision_offsets": [],
        }
    )
    return {
        "task": task,
        "labeler": labeler,
        "labels": list(labels),
        "prompt_hash": prompt_hash,
        "n_requested": settings.calibration_texts,
        **measured,
    }
