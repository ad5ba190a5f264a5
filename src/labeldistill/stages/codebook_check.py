"""Stage: the codebook check of one LLM labeler (one prompt draw) on one task.

Labels a sample of the val texts (config `codebook_check.texts`, drawn without reading labels)
and the codebook's quoted examples with the labeler's prompt, then the sample again with its
few-shot examples reordered and with its labels listed in reverse (labeldistill.codebook_check),
and writes the figures as a JSON record; the table and its verdicts come from
`stages.codebook_check_table`. It needs only the splits, never another job's labels: run it
before labeling a whole corpus. An API labeler's answers to the original prompt go to the
response cache, so the run that follows pays only for the reordered prompts; a local labeler
is loaded (and calibrated) once per prompt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from labeldistill.codebook_check import (
    quoted_examples,
    reordered_examples,
    reordered_labels,
    summarise,
)
from labeldistill.contracts import CODEBOOK_CHECK, SPLIT, read_table, write_record
from labeldistill.prompts import Example, build_prompt, with_question
from labeldistill.sampling import draw_ids
from labeldistill.stages.annotate import api_labels, declared, few_shot_examples, local_teacher

log = logging.getLogger(__name__)


def local_labels(
    model_dir: Path,
    pool: pd.DataFrame,
    codebook: str,
    labels: Sequence[str],
    examples: Sequence[Example],
    texts: Sequence[str],
    settings: dict,
    threads: int,
) -> tuple[list, str]:
    """A local labeler's labels of `texts` with this prompt, calibrated on it as annotate does."""
    from labeldistill.stages.calibrate import measure_calibration

    prompt = build_prompt(codebook, labels, examples)
    teacher = local_teacher(model_dir, labels, prompt, settings, threads)
    calibration = measure_calibration(teacher, pool, examples, labels, settings)
    if calibration is not None:
        teacher.use_calibration(calibration)
    return [result.label for result in teacher.label(list(texts), progress=False)], prompt.hash


def run(
    val_split: Path,
    pool_split: Path,
    codebook: Path,
    labels: Sequence[str],
    labeler: str,
    settings: dict,
    out_json: Path,
    texts: int = 50,
    seed: int = 0,
    model_record: Path | None = None,
    threads: int = 1,
    task: str = "",
    cache_dir: Path | None = None,
    server_log: Path | None = None,
    question: str = "",
) -> None:
    """`question` is added after the codebook as the labeling stages add it (a one-vs-rest
    task's); the quoted examples come from the codebook itself."""
    started = time.perf_counter()
    settings = declared(settings, labeler)
    labels = [str(label) for label in labels]
    val, pool = read_table(val_split, SPLIT), read_table(pool_split, SPLIT)
    chosen = set(draw_ids(val["id"], texts, seed))
    sample = val[val["id"].astype(str).isin(chosen)].reset_index(drop=True)
    raw = Path(codebook).read_text(encoding="utf-8")
    quoted = quoted_examples(raw, labels)
    text = with_question(raw, question)
    examples = few_shot_examples(pool, settings, labeler)
    prompts = {
        "original": (examples, labels),
        "examples_order": (reordered_examples(examples, seed), labels),
        "label_order": (examples, reordered_labels(labels)),
    }
    log.info(
        "%s: %d of %d val texts, %d quoted examples in the codebook, %d few-shot examples",
        labeler,
        len(sample),
        len(val),
        len(quoted),
        len(examples),
    )
    model_dir = None
    if settings["backend"] == "local":
        from labeldistill.teachers.local_models import open_local_model

        model_dir = open_local_model(model_record)
    given, hashes = {}, {}
    for variant, (shown, order) in prompts.items():
        if shown is None or order is None:
            log.info("%s: no other order to try", variant)
            continue
        asked = list(sample["text"]) + ([example.text for example in quoted] if variant == "original" else [])
        if settings["backend"] == "local":
            answers, hashes[variant] = local_labels(
                model_dir, pool, text, order, shown, asked, settings, threads
            )
        else:
            frame = pd.DataFrame({"id": [f"check-{i}" for i in range(len(asked))], "text": asked})
            labelled, _ = api_labels(
                frame, pool, text, order, labeler, settings, task, cache_dir, server_log, examples=shown
            )
            answers = [label if isinstance(label, str) else None for label in labelled["label"]]
            hashes[variant] = next((h for h in labelled["prompt_hash"] if isinstance(h, str)), None)
        given[variant] = answers[: len(sample)]
        if variant == "original":
            quoted_answers = answers[len(sample) :]
        log.info("%s: labelled %d texts, prompt %s", variant, len(asked), hashes[variant])
    record = {
        "task": task,
        "labeler": labeler,
        "backend": settings["backend"],
        "model": str(settings.get("model")),
        "texts": int(texts),
        "seed": int(seed),
        **summarise(list(sample["label"]), given, quoted, quoted_answers),
        "label_orders": {variant: order for variant, (_, order) in prompts.items()},
        "prompt_hashes": hashes,
        "seconds": round(time.perf_counter() - started, 3),
    }
    for variant in ("examples_order", "label_order"):
        found = record[variant]
        if found:
            log.info("%s: %d of %d labels flipped", variant, found["n_flipped"], found["n"])
    write_record(record, out_json, CODEBOOK_CHECK)
