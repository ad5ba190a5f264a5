"""A local labeler's calibration, measured once per task for every part to use.

The prompt (codebook + few-shot examples) is built exactly as the labeling stage builds it;
`calibration_texts` pool texts (never examples; their labels unread) are scored once, and what
they show (the mean prediction, the target prior, the decision offsets) is written as a record
beside the labels. Measured per part, as once, it cost three model passes over the same texts
and allowed only 32 of them: with 32 texts the share of labels the decision rule gives wanders
by about +-0.08. The workflow measures it inside the job that labels the task's parts
(`annotate.run_local`); `run` does it alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from labeldistill.calibration import Calibration, check_target, fit_calibration
from labeldistill.contracts import CALIBRATION, SPLIT, read_table, write_record
from labeldistill.stages.annotate import (
    calibration_sample,
    declared,
    local_prompt,
    local_teacher,
    target_prior_setting,
)

log = logging.getLogger(__name__)


def measure_calibration(
    teacher, pool: pd.DataFrame, examples: Sequence, labels: Sequence[str], settings: dict
) -> Calibration | None:
    """The calibration of a loaded local teacher's prompt, from its calibration texts in the
    pool; None when `calibration_texts` is 0 (raw probabilities)."""
    size = int(settings["calibration_texts"])
    texts = calibration_sample(pool, examples, size, int(settings["shots_seed"]))
    if not texts:
        return None
    prior = check_target(target_prior_setting(settings, examples, labels), labels)
    return fit_calibration(teacher.raw_probabilities(texts), prior)


def calibration_record(
    calibration: Calibration | None,
    prompt_hash: str,
    labels: Sequence[str],
    labeler: str,
    settings: dict,
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
        "n_requested": int(settings["calibration_texts"]),
        **measured,
    }


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
    settings = declared(settings, labeler)
    labels = [str(label) for label in labels]
    pool = read_table(pool_split, SPLIT)
    examples, prompt = local_prompt(
        pool, Path(codebook).read_text(encoding="utf-8"), labels, labeler, settings
    )
    teacher = local_teacher(model_dir, labels, prompt, settings, threads)
    calibration = measure_calibration(teacher, pool, examples, labels, settings)
    if calibration is not None:
        teacher.use_calibration(calibration)  # logs what it found
    write_record(
        calibration_record(calibration, prompt.hash, labels, labeler, settings, task), out_json, CALIBRATION
    )
