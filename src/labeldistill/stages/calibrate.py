"""Stage: measure a local labeler's calibration once per task, for every part to use.

The prompt (codebook + few-shot examples) is built exactly as the annotate stage builds it;
`calibration_texts` pool texts (never examples; their labels unread) are scored once, and what
they show (the mean prediction, the target prior, the decision offsets) is written as a record
that every labeling job of the task reads. Measured per part, as before, it cost three model
passes over the same texts and allowed only 32 of them: with 32 texts the share of labels the
decision rule gives wanders by about +-0.08.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from labeldistill.calibration import check_target, fit_calibration
from labeldistill.contracts import CALIBRATION, SPLIT, read_table, write_record
from labeldistill.prompts import build_prompt
from labeldistill.stages.annotate import (
    DEFAULT_CALIBRATION_TEXTS,
    calibration_sample,
    few_shot_examples,
    local_teacher,
    target_prior_setting,
)

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
    labels = [str(label) for label in labels]
    pool = read_table(pool_split, SPLIT)
    examples = few_shot_examples(pool, settings, labeler)
    prompt = build_prompt(Path(codebook).read_text(encoding="utf-8"), labels, examples)
    size = int(settings.get("calibration_texts", DEFAULT_CALIBRATION_TEXTS))
    texts = calibration_sample(pool, examples, size, int(settings.get("shots_seed", 0)))
    prior = check_target(target_prior_setting(settings, examples, labels), labels)
    teacher = local_teacher(model_dir, labels, prompt, settings, threads)
    calibration = fit_calibration(teacher.raw_probabilities(texts), prior)
    teacher.use_calibration(calibration)
    write_record(
        {
            "task": task,
            "labeler": labeler,
            "labels": labels,
            "prompt_hash": prompt.hash,
            "n_requested": size,
            **calibration.to_dict(),
        },
        out_json,
        CALIBRATION,
    )
