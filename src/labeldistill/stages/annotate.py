"""Stage: label one part of a task with one labeler; write a LABELS table and its usage.
A `local` labeler labels all parts of a task in one job instead (`run_local`): the model is
loaded and calibrated once.

Backends: `human` (the task's gold column), `local` (an in-process small LLM), `openai` (any
OpenAI-compatible server, optionally one this job starts and stops) and `vllm` (offline
batched inference on a GPU). Each yields the same LABELS columns and a usage record
(requests, tokens, cache hits, dollars, seconds) beside the table.

A part on which the labeler failed for more than `max_failed_share` of the texts (default
0.2) is not written at all: the job fails with one line, and Snakemake runs it again next
time, the answers received meanwhile coming from the response cache. A labels file of nulls
would otherwise go on to score F1 = 0 in every stage after it.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from labeldistill.contracts import (
    CALIBRATION,
    LABELS,
    SPLIT,
    USAGE,
    read_record,
    read_table,
    write_record,
    write_table,
)
from labeldistill.errors import LabelDistillError
from labeldistill.prompts import Example, draw_examples, with_question
from labeldistill.sampling import draw_ids, normalise
from labeldistill.teachers.settings import check_labeler

log = logging.getLogger(__name__)

BACKENDS = ("human", "local", "openai", "vllm")


def declared(settings: Mapping, labeler: str) -> dict:
    """A labeler's settings with its backend's declared defaults filled in (the workflow passes
    them filled in already; a caller of these functions may not)."""
    return check_labeler(labeler, dict(settings))


def few_shot_examples(pool: pd.DataFrame, settings: dict, labeler: str) -> list[Example]:
    """Fixed pool ids from `examples`, else `shots` drawn from the pool (stratified, seeded)."""
    settings = declared(settings, labeler)
    fixed = settings["examples"]
    if fixed:
        by_id = pool.assign(id=pool["id"].astype(str)).set_index("id")
        missing = [str(i) for i in fixed if str(i) not in by_id.index]
        if missing:
            raise LabelDistillError(
                f"config key labelers.{labeler}.examples: id(s) {missing[:5]} are not in the "
                "task's pool (examples never come from val or test)"
            )
        return [
            Example(text=str(by_id.at[str(i), "text"]), label=str(by_id.at[str(i), "label"])) for i in fixed
        ]
    return draw_examples(pool, int(settings["shots"]), int(settings["shots_seed"]))


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
    shown = {normalise(example.text) for example in examples}
    candidates = pool[[normalise(text) not in shown for text in pool["text"]]]
    if size <= 0 or candidates.empty:
        return []
    chosen = set(draw_ids(candidates["id"], size, seed))
    return [
        text for i, text in zip(candidates["id"].astype(str), candidates["text"], strict=True) if i in chosen
    ]


def target_prior_setting(settings: dict, examples: Sequence[Example], labels: Sequence[str]):
    """The `calibration_prior` setting as the local teacher takes it: for `examples`, the label
    shares of the few-shot examples."""
    prior = settings["calibration_prior"]
    if prior == "examples":
        from labeldistill.calibration import label_prior

        return label_prior([example.label for example in examples], labels)
    return prior


def read_calibration(path: Path, prompt_hash: str, labels: Sequence[str]):
    """The calibration the calibrate stage measured for this very prompt."""
    from labeldistill.calibration import Calibration

    record = read_record(path, CALIBRATION)
    if record["prompt_hash"] != prompt_hash or list(record["labels"]) != list(labels):
        raise LabelDistillError(
            f"{path}: measured for prompt {record['prompt_hash']} and labels {record['labels']}, "
            f"not for prompt {prompt_hash} and labels {list(labels)}; measure the calibration again "
            "(labeldistill.stages.calibrate)"
        )
    return Calibration.from_dict(record)


def local_teacher(
    model_dir: Path, labels: Sequence[str], prompt, settings: dict, threads: int, **calibration
):
    """The in-process LLM of a `local` labeler, as its settings ask for it."""
    from labeldistill.teachers.local import LocalTeacher

    return LocalTeacher(
        model_dir,
        labels,
        prompt,
        threads=threads,
        model_name=str(settings["model"]),
        max_text_tokens=int(settings["max_text_tokens"]),
        **calibration,
    )


def local_prompt(pool: pd.DataFrame, codebook: str, labels: Sequence[str], labeler: str, settings: dict):
    """The few-shot examples and prompt of a local labeler (built alike by every stage)."""
    from labeldistill.prompts import build_prompt

    examples = few_shot_examples(pool, settings, labeler)
    return examples, build_prompt(codebook, labels, examples)


def local_frame(
    part: pd.DataFrame, results: Sequence, labeler: str, model: str, prompt_hash: str
) -> pd.DataFrame:
    """A LABELS table of a local teacher's results for `part`."""
    return pd.DataFrame(
        {
            "id": part["id"],
            "label": [r.label for r in results],
            "probabilities": [list(r.probabilities) for r in results],
            "error": [r.error for r in results],
            "labeler": labeler,
            "backend": "local",
            "model": model,
            "prompt_hash": prompt_hash,
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
    calibration_path: Path | None = None,
) -> pd.DataFrame:
    """Label one part with the in-process LLM from the codebook and k pool examples; with
    `calibration_path`, calibrated as recorded there (else on the calibration texts).

    The workflow labels a task's parts with `run_local`, which loads the model once; this
    labels one part on its own and gives the same probabilities."""
    settings = declared(settings, labeler)
    examples, prompt = local_prompt(pool, codebook, labels, labeler, settings)
    calibration = calibration_sample(
        pool, examples, int(settings["calibration_texts"]), int(settings["shots_seed"])
    )
    measured = None
    if calibration_path is not None:
        measured = read_calibration(calibration_path, prompt.hash, labels)
        calibration = []
    teacher = local_teacher(
        model_dir,
        labels,
        prompt,
        settings,
        threads,
        calibration_texts=calibration,
        calibration_prior=target_prior_setting(settings, examples, labels),
        calibration=measured,
    )
    log.info(
        "%s: %d texts, %d examples, %d calibration texts, prompt %s",
        labeler,
        len(part),
        len(examples),
        teacher.calibration_size,
        prompt.hash,
    )
    results = teacher.label(list(part["text"]))
    log.info("provenance: %s", teacher.provenance)
    return local_frame(part, results, labeler, teacher.model_name, prompt.hash)


def api_labels(
    part: pd.DataFrame,
    pool: pd.DataFrame,
    codebook: str,
    labels: Sequence[str],
    labeler: str,
    settings: dict,
    task: str,
    cache_dir: Path | None,
    server_log: Path | None,
    examples: Sequence[Example] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Label through an OpenAI-compatible endpoint (or vLLM in-process), answers cached.
    `examples` replaces the labeler's own few-shot examples (the codebook check reorders them)."""
    if examples is None:
        examples = few_shot_examples(pool, settings, labeler)
    texts, ids = list(part["text"]), [str(i) for i in part["id"]]
    if settings["backend"] == "vllm":
        from labeldistill.teachers.vllm_offline import label_with_vllm

        results, usage = label_with_vllm(
            texts, ids, codebook, labels, examples, settings, cache_dir, labeler, task
        )
    else:
        from labeldistill.teachers.openai_api import estimate_api_cost, label_with_api

        def label():
            return label_with_api(texts, ids, codebook, labels, examples, settings, cache_dir, labeler, task)

        server = settings.get("server")
        # A server is started only when something is not in the cache yet.
        if (
            server
            and estimate_api_cost(texts, codebook, labels, examples, settings, cache_dir, labeler).requests
        ):
            from labeldistill.teachers.managed_server import managed_server

            with managed_server(
                server["command"],
                settings["base_url"],
                server_log or Path(f"{labeler}-server.log"),
                startup_timeout=float(server.get("startup_timeout", 600)),
                config_key=f"labelers.{labeler}.server",
            ):
                results, usage = label()
        else:
            results, usage = label()
    frame = pd.DataFrame(
        {
            "id": part["id"],
            "label": [r.label for r in results],
            "probabilities": [list(r.probabilities) for r in results],
            "error": [r.error for r in results],
            "labeler": labeler,
            "backend": settings["backend"],
            "model": [r.provenance.get("model") for r in results],
            "prompt_hash": [r.provenance.get("prompt_hash") for r in results],
            "consistency": [r.consistency for r in results],
            "n_samples": [r.n_samples for r in results],
            "raw": [" | ".join(r.raw) if r.raw else None for r in results],
            "model_version": [r.provenance.get("model_reported") for r in results],
            "system_fingerprint": [r.provenance.get("system_fingerprint") for r in results],
        }
    )
    return frame, usage


def _error_kind(error: object) -> str:
    """An error message without its quoted parts (the answers), to count errors by kind."""
    return re.sub(r"'[^']*'|\"[^\"]*\"", "'...'", str(error))


def check_failures(frame: pd.DataFrame, labeler: str, settings: dict) -> None:
    """Raise LabelDistillError when more than `max_failed_share` of the texts have no label.

    The line names the labeler, how many texts failed, the most common error (one instance of
    it) and, for a server, its URL. Fewer failures are one warning with the same facts.
    """
    failed = frame["label"].isna()
    texts, count = len(frame), int(failed.sum())
    if not count:
        return
    limit = float(declared(settings, labeler)["max_failed_share"])
    errors = [
        str(error) if isinstance(error, str) and error else "no error given"
        for error in frame.loc[failed, "error"]
    ]
    kinds = Counter(_error_kind(error) for error in errors)
    kind, times = kinds.most_common(1)[0]
    example = next(error for error in errors if _error_kind(error) == kind)
    if count / texts <= limit:
        log.warning(
            "labeler %s: %d of %d texts failed (within max_failed_share %g); most common error "
            "(%d texts): %s",
            labeler,
            count,
            texts,
            limit,
            times,
            example,
        )
        return
    backend = settings.get("backend")
    where = ""
    if backend == "openai":
        from labeldistill.teachers.chat_transport import OPENAI_BASE_URL
        from labeldistill.teachers.openai_settings import OpenAISettings

        url = OpenAISettings(model=str(settings.get("model")), base_url=settings.get("base_url"))
        where = f" at {url.public_base_url() or OPENAI_BASE_URL}"
    kept = "; the answers received are in the response cache" if backend in ("openai", "vllm") else ""
    raise LabelDistillError(
        f"labeler {labeler}: {count} of {texts} texts failed{where}, more than "
        f"labelers.{labeler}.max_failed_share ({limit:g}); most common error ({times} texts): "
        f"{example}; no labels were written{kept}"
    )


def run(
    part_split: Path,
    pool_split: Path | None,
    codebook: Path | None,
    labels: Sequence[str],
    labeler: str,
    settings: dict,
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
    """Label one part; `question` is added after the codebook (see `prompts.with_question`)."""
    started = time.perf_counter()
    part = read_table(part_split, SPLIT)
    backend = settings.get("backend", "human")
    if backend not in BACKENDS:
        raise LabelDistillError(
            f"config key labelers.{labeler}.backend: unknown backend {backend!r} "
            f"(valid: {', '.join(BACKENDS[1:])})"
        )
    usage: dict = {}
    if backend != "human":
        settings = declared(settings, labeler)
    if backend == "human":
        frame = human_labels(part, labels)
    else:
        pool = read_table(pool_split, SPLIT)
        text = with_question(Path(codebook).read_text(encoding="utf-8"), question)
        if backend == "local":
            frame = local_llm_labels(
                part, pool, text, labels, labeler, settings, model_dir, threads, calibration_path
            )
        else:
            frame, usage = api_labels(
                part, pool, text, labels, labeler, settings, task, cache_dir, server_log
            )
    failed = int(frame["label"].isna().sum())
    log.info("%s: %d labelled, %d failed", out_path, len(frame) - failed, failed)
    check_failures(frame, labeler, settings)
    write_table(frame, out_path, LABELS, labels=list(labels))
    if usage_path is not None:
        seconds = time.perf_counter() - started
        write_record(usage_record(frame, task, labeler, backend, usage, seconds), usage_path, USAGE)


def usage_record(
    frame: pd.DataFrame, task: str, labeler: str, backend: str, usage: dict, seconds: float
) -> dict:
    """What labeling one part cost (a USAGE record); `usage` holds what the backend counted."""
    return {
        "task": task,
        "labeler": labeler,
        "backend": backend,
        "texts": len(frame),
        "failed_texts": int(frame["label"].isna().sum()),
        "truncated_texts": 0,
        "requests_sent": 0,
        "responses": 0,
        "cache_hits": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "dollars": 0.0,
        **usage,
        "seconds": round(seconds, 3),
    }


def run_local(
    splits: dict[str, Path],
    codebook: Path,
    labels: Sequence[str],
    labeler: str,
    settings: dict,
    model_record: Path,
    labels_paths: dict[str, Path],
    usage_paths: dict[str, Path],
    calibration_path: Path,
    threads: int = 1,
    task: str = "",
    question: str = "",
) -> None:
    """Label every part of a task (`splits`: part -> split, the pool among them) with a local
    labeler: the model loaded once, calibrated once on the pool, then each part labelled;
    `question` is added after the codebook (see `prompts.with_question`).

    Writes what one calibrate job and one annotate job per part wrote before, with the same
    probabilities: a LABELS table and a USAGE record per part, and the calibration record (with
    `calibration_texts: 0`, one of method "none"). Loading took about 18 s of every 44-88 s
    part job on two slow cores. Nothing is written unless every part passes `check_failures`.
    A part's seconds are its own labeling plus a share of the load and calibration by texts.
    """
    from labeldistill.stages.calibrate import calibration_record, measure_calibration
    from labeldistill.teachers.local_models import open_local_model

    started = time.perf_counter()
    settings = declared(settings, labeler)
    labels = [str(label) for label in labels]
    parts = {part: read_table(path, SPLIT) for part, path in splits.items()}
    codebook_text = with_question(Path(codebook).read_text(encoding="utf-8"), question)
    examples, prompt = local_prompt(parts["pool"], codebook_text, labels, labeler, settings)
    teacher = local_teacher(open_local_model(model_record), labels, prompt, settings, threads)
    calibration = measure_calibration(teacher, parts["pool"], examples, labels, settings)
    if calibration is not None:
        teacher.use_calibration(calibration)
    shared = time.perf_counter() - started
    log.info("%s: model loaded and calibrated in %.1f s, prompt %s", labeler, shared, prompt.hash)
    frames, seconds, truncated = {}, {}, {}
    for part, texts in parts.items():
        part_started = time.perf_counter()
        log.info("%s: labelling %s (%d texts)", labeler, part, len(texts))
        frame = local_frame(
            texts, teacher.label(list(texts["text"])), labeler, teacher.model_name, prompt.hash
        )
        failed = int(frame["label"].isna().sum())
        log.info("%s: %d labelled, %d failed", part, len(frame) - failed, failed)
        check_failures(frame, labeler, settings)
        frames[part], truncated[part] = frame, teacher.truncated
        seconds[part] = time.perf_counter() - part_started
    log.info("provenance: %s", teacher.provenance)
    total = sum(len(frame) for frame in frames.values()) or 1
    write_record(
        calibration_record(calibration, prompt.hash, labels, labeler, settings, task),
        calibration_path,
        CALIBRATION,
    )
    for part, frame in frames.items():
        write_table(frame, labels_paths[part], LABELS, labels=labels)
        part_seconds = seconds[part] + shared * len(frame) / total
        usage = {"truncated_texts": truncated[part]}
        write_record(
            usage_record(frame, task, labeler, "local", usage, part_seconds), usage_paths[part], USAGE
        )
