"""Stage: the codebook check of one LLM labeler (one prompt draw) on one task.

Labels a sample of the val texts (config `codebook_check.texts`, drawn without reading labels)
and the codebook's quoted examples with the labeler's prompt, then the sample again with its
few-shot examples reordered and with its labels listed in reverse (labeldistill.teachers.codebook_check),
and writes the figures as a JSON record; the table and its verdicts come from
`stages.codebook_check_table`. It needs only the splits, never another job's labels: run it
before labeling a whole corpus. An API labeler's answers to the original prompt go to the
response cache, so the run that follows pays only for the reordered prompts; a local labeler
is loaded (and calibrated) once per prompt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from labeldistill.contracts import CODEBOOK_CHECK, SPLIT, read_table, write_record
from labeldistill.tasks.sampling import draw_ids
from labeldistill.teachers.base import TaskContext
from labeldistill.teachers.codebook_check import (
    quoted_examples,
    reordered_examples,
    reordered_labels,
    summarise,
)
from labeldistill.teachers.factory import make_teacher
from labeldistill.teachers.prompts.examples import with_question
from labeldistill.teachers.prompts.few_shot import few_shot_examples
from labeldistill.teachers.settings import parse_labeler

log = logging.getLogger(__name__)


def run(
    val_split: Path,
    pool_split: Path,
    codebook: Path,
    labels: Sequence[str],
    labeler: str,
    settings: Mapping,
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
    """`settings` is the labeler's config block, parsed here once; `question` is added after the
    codebook as the labeling stages add it (a one-vs-rest task's); the quoted examples come from
    the codebook itself."""
    started = time.perf_counter()
    settings = parse_labeler(labeler, settings)
    labels = list(labels)
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
    if settings.backend == "local":
        from labeldistill.teachers.local.models import open_local_model

        model_dir = open_local_model(model_record)
    given, hashes = {}, {}
    for variant, (shown, order) in prompts.items():
        if shown is None or order is None:
            log.info("%s: no other order to try", variant)
            continue
        asked = list(sample["text"]) + ([example.text for example in quoted] if variant == "original" else [])
        # A local teacher is loaded (and calibrated) for each prompt; an API teacher's answers
        # to the original prompt come from the response cache.
        teacher = make_teacher(
            labeler,
            settings,
            TaskContext(task, order, text, pool),
            examples=shown,
            threads=threads,
            model_dir=model_dir,
            cache_dir=cache_dir,
            server_log=server_log,
        )
        results = teacher.label(asked, [f"check-{i}" for i in range(len(asked))])
        answers = [result.label for result in results]
        hashes[variant] = teacher.provenance["prompt_hash"]
        given[variant] = answers[: len(sample)]
        if variant == "original":
            quoted_answers = answers[len(sample) :]
        log.info("%s: labelled %d texts, prompt %s", variant, len(asked), hashes[variant])
    record = {
        "task": task,
        "labeler": labeler,
        "backend": settings.backend,
        "model": settings.model,
        "texts": texts,
        "seed": seed,
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
