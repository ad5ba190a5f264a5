"""Checks of the config that its JSON Schema cannot express, run once when the workflow starts.

Each failure is one line naming the config key and what would be valid, before any job runs.
"""

from __future__ import annotations

from pathlib import Path

from labeldistill.corpus import CorpusSpec, check_columns
from labeldistill.errors import LabelDistillError

COMMON_LABELER_KEYS = {"backend", "model", "shots", "shots_seed", "examples", "threads", "max_failed_share"}
SAMPLING_KEYS = {"mode", "samples", "temperature", "seed", "max_tokens", "top_logprobs"}
OPENAI_KEYS = {
    "base_url", "api_key_env", "transport", "concurrency", "requests_per_minute",
    "tokens_per_minute", "timeout", "max_retries", "backoff_base", "backoff_cap",
    "budget_usd", "prices", "progress", "server",
}  # fmt: skip
LABELER_KEYS = {
    "local": COMMON_LABELER_KEYS | {"calibration_texts", "calibration_prior", "max_text_tokens"},
    "openai": COMMON_LABELER_KEYS | SAMPLING_KEYS | OPENAI_KEYS,
    "vllm": COMMON_LABELER_KEYS | SAMPLING_KEYS | {"engine"},
}


def check_config(config: dict) -> None:
    for name, task in config["tasks"].items():
        for key in ("texts", "codebook", "coder_labels"):
            if key in task and not Path(task[key]).exists():
                raise LabelDistillError(f"config key tasks.{name}.{key}: file {task[key]} not found")
        positive = task.get("positive_label")
        if positive is not None and positive not in task["labels"]:
            raise LabelDistillError(
                f"config key tasks.{name}.positive_label: {positive!r} is not one of labels {task['labels']}"
            )
    for name, labeler in config.get("labelers", {}).items():
        valid = LABELER_KEYS[labeler["backend"]]
        unknown = set(labeler) - valid
        if unknown:
            raise LabelDistillError(
                f"config key labelers.{name}: unknown setting(s) {sorted(unknown)} for the "
                f"{labeler['backend']} backend (valid: {sorted(valid)})"
            )
        if labeler.get("server") and not labeler.get("base_url"):
            raise LabelDistillError(
                f"config key labelers.{name}.base_url: required with server (the URL the started "
                "server answers at, e.g. http://127.0.0.1:8011/v1)"
            )
    train_size, pool = config.get("train_size"), config.get("split", {}).get("pool")
    if train_size is not None and pool is not None and train_size > pool:
        raise LabelDistillError(f"config key train_size: {train_size} is larger than split.pool ({pool})")
    check_corpus(config)


def check_corpus(config: dict) -> None:
    """The corpus settings: the chosen student, labeler and seeds exist; every task's corpus file
    exists and has its columns (read from its header or parquet schema only)."""
    tasks = {name: task for name, task in config["tasks"].items() if task.get("corpus")}
    settings = config.get("corpus") or {}
    if not tasks and not settings:
        return
    if tasks:
        for key in ("student", "labeler"):
            if not settings.get(key):
                raise LabelDistillError(
                    f"config key corpus.{key}: required when a task has a corpus (tasks "
                    f"{sorted(tasks)}): the {key} whose model labels it, chosen before seeing test scores"
                )
    student, labeler = settings.get("student"), settings.get("labeler")
    if student is not None and student not in config["students"]:
        raise LabelDistillError(
            f"config key corpus.student: {student!r} is not one of students {sorted(config['students'])}"
        )
    labelers = ["human", *config.get("labelers", {})]
    if labeler is not None and labeler not in labelers:
        raise LabelDistillError(f"config key corpus.labeler: {labeler!r} is not one of {labelers}")
    seeds = [int(seed) for seed in config.get("seeds", [])]
    unknown = [seed for seed in settings.get("seeds") or [] if seed not in seeds]
    if unknown:
        raise LabelDistillError(f"config key corpus.seeds: seed(s) {unknown} are not in seeds {seeds}")
    for name, task in tasks.items():
        spec = CorpusSpec.from_config(name, task["corpus"])
        key = f"tasks.{name}.corpus"
        if not spec.path.is_file():
            raise LabelDistillError(f"config key {key}.texts: file {spec.path} not found")
        check_columns(spec.path, spec.columns, f"{key} (id_column, text_column, covariates)")
        if spec.covariates:
            # The test texts' covariates come from the task's texts file, by id.
            wanted = [task.get("id_column", "id"), *spec.covariates]
            check_columns(Path(task["texts"]), wanted, f"{key}.covariates (in tasks.{name}.texts)")
