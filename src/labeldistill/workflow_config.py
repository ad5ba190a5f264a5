"""Checks of the config that its JSON Schema cannot express, run once when the workflow starts.

Each failure is one line naming the config key and what would be valid, before any job runs.
"""

from __future__ import annotations

from pathlib import Path

from labeldistill.errors import LabelDistillError

LOCAL_LABELER_KEYS = {
    "backend",
    "model",
    "shots",
    "shots_seed",
    "calibration_texts",
    "max_text_tokens",
    "threads",
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
        unknown = set(labeler) - LOCAL_LABELER_KEYS
        if labeler["backend"] == "local" and unknown:
            raise LabelDistillError(
                f"config key labelers.{name}: unknown setting(s) {sorted(unknown)} for the local "
                f"backend (valid: {sorted(LOCAL_LABELER_KEYS)})"
            )
    train_size, pool = config.get("train_size"), config.get("split", {}).get("pool")
    if train_size is not None and pool is not None and train_size > pool:
        raise LabelDistillError(f"config key train_size: {train_size} is larger than split.pool ({pool})")
