"""The settings of every student kind (one `students.<name>` block of the config), declared once.

Light on purpose: the workflow checks every student block with these when it parses the config,
without importing torch or scikit-learn. The kinds' classes read their defaults from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labeldistill.declare import (
    at_least,
    auto_or,
    boolean,
    fields,
    fraction,
    non_empty_string,
    non_negative_int,
    non_negative_number,
    one_of,
    optional,
    parse,
    positive_int,
    positive_number,
    resolve,
    setting,
    unknown_key_error,
)
from labeldistill.errors import LabelDistillError

STUDENT_KINDS = ("tfidf-logreg", "transformer", "setfit")
TARGETS = ("hard", "soft")


@dataclass(frozen=True)
class StudentPlacement:
    """What kind a student is and where it runs; not what it learns (so not a training param)."""

    kind: str = setting(check=one_of(*STUDENT_KINDS))
    threads: int = setting(1, positive_int, "CPU threads of the training and prediction jobs")
    device: str = setting("cpu", one_of("cpu", "gpu"), "gpu (transformer only) asks a cluster for GPUs")

    @staticmethod
    def cross_check(values: dict) -> list[tuple[str, str]]:
        if values["device"] == "gpu" and values["kind"] not in ("transformer", "setfit"):
            return [
                (
                    "device",
                    f"a {values['kind']!r} student runs on the CPU only "
                    "(device: gpu is for transformer and setfit)",
                )
            ]
        return []


PLACEMENT_KEYS = ("kind", "threads", "device")


@dataclass(frozen=True)
class TfidfLogRegSettings:
    C: Any = setting("auto", auto_or(positive_number), "inverse regularisation; auto: cross-validated")
    ngram_max: Any = setting("auto", auto_or(positive_int), "word n-grams 1..ngram_max; auto: 1 or 2 by CV")
    cv_folds: int = setting(5, at_least(2), "folds of the cross-validation behind auto")
    min_df: int = setting(1, positive_int, "drop terms in fewer texts than this")
    max_features: int | None = setting(None, optional(positive_int), "keep at most this many terms")
    sublinear_tf: bool = setting(True, boolean, "1 + log(tf)")
    class_weight: str | None = setting(
        "balanced", optional(one_of("balanced")), "balanced: by inverse frequency"
    )
    max_iter: int = setting(1000, positive_int, "iterations of the solver")
    targets: str = setting("hard", one_of(*TARGETS), "hard: the labeler's label; soft: its probabilities")


@dataclass(frozen=True)
class TransformerSettings:
    model: str = setting("minilm-l6", non_empty_string, "short name, local folder or hub name")
    pooling: str = setting("mean", one_of("mean", "cls"), "mean: sentence embedding; cls: model's head")
    head_init: str = setting("probe", one_of("probe", "random"), "probe: logistic regression first")
    probe_C: float = setting(3.0, positive_number, "inverse regularisation of that logistic regression")
    epochs: int = setting(4, positive_int, "passes over the training texts")
    batch_size: int = setting(16, positive_int, "texts per training step")
    learning_rate: float = setting(5e-5, positive_number, "peak of the linear warm-up and decay (AdamW)")
    max_length: int = setting(128, positive_int, "tokens; longer texts are truncated")
    weight_decay: float = setting(0.01, non_negative_number, "AdamW's, on all but biases and norms")
    warmup_ratio: float = setting(0.1, fraction, "share of all steps spent warming up")
    patience: int = setting(2, non_negative_int, "epochs without validation improvement; 0: never stop")
    select_by: str = setting("macro_f1", one_of("macro_f1", "loss"), "validation score that picks the epoch")
    eval_batch_size: int = setting(64, positive_int, "texts per step when predicting")
    inference_dtype: str = setting("float32", one_of("float32", "int8"), "int8: quantised Linear on CPU")
    group_by_length: bool = setting(True, boolean, "batch texts of similar length together")
    max_grad_norm: float | None = setting(1.0, optional(positive_number), "gradient clipping; null: none")
    class_weight: str | None = setting(None, optional(one_of("balanced")), "balanced: by inverse frequency")
    targets: str = setting("hard", one_of(*TARGETS), "hard: the labeler's label; soft: its probabilities")

    @staticmethod
    def cross_check(values: dict) -> list[tuple[str, str]]:
        if values["head_init"] == "probe" and values["pooling"] != "mean":
            return [("head_init", "probe needs pooling: mean (with pooling: cls, use head_init: random)")]
        return []


@dataclass(frozen=True)
class SetFitSettings:
    model: str = setting("minilm-l6", non_empty_string, "short name, local folder or hub name")
    num_iterations: int = setting(1, positive_int, "positive and negative pairs per training text")
    epochs: int = setting(1, positive_int, "passes over the pairs")
    batch_size: int = setting(16, positive_int, "pairs per batch")
    learning_rate: float = setting(2e-5, positive_number, "of the contrastive phase")
    warmup_ratio: float = setting(0.1, fraction, "share of the contrastive steps spent warming up")
    max_length: int = setting(128, positive_int, "tokens; longer texts are truncated")
    C: float = setting(1.0, positive_number, "inverse regularisation of the logistic regression head")
    class_weight: str | None = setting("balanced", optional(one_of("balanced")), "of the head")
    eval_batch_size: int = setting(64, positive_int, "texts per step when predicting")


SETTINGS_BY_KIND: dict[str, type] = {
    "tfidf-logreg": TfidfLogRegSettings,
    "transformer": TransformerSettings,
    "setfit": SetFitSettings,
}


def check_student(name: str, block: dict) -> dict:
    """A `students.<name>` block checked whole: placement and the kind's settings, defaults in."""
    key = f"students.{name}"
    learning_keys = [setting_key for setting_key in block if setting_key not in PLACEMENT_KEYS]
    placement = resolve(StudentPlacement, block, key, "a student", ignore=learning_keys)
    kind = placement["kind"]
    declared = SETTINGS_BY_KIND[kind]
    valid = {*PLACEMENT_KEYS, *fields(declared)}
    for setting_key in learning_keys:
        if setting_key not in valid:
            raise unknown_key_error(key, setting_key, valid, f"a {kind!r} student")
    learning = resolve(declared, block, key, f"a {kind!r} student", ignore=PLACEMENT_KEYS)
    return {**placement, **learning}


def parse_student(block: Mapping, config_key: str = "student") -> Any:
    """What a student learns with, as its kind's settings object: `block` (one `students.<name>`
    block, or the part of it that `student_settings` passes a training job) checked whole, what
    says where it runs (kind, threads, device) left out. A job's boundary calls it once."""
    kind = block.get("kind") if isinstance(block, Mapping) else None
    if kind not in SETTINGS_BY_KIND:
        raise LabelDistillError(
            f"config key {config_key}.kind: {kind!r} is not a student kind (valid: {list(STUDENT_KINDS)})"
        )
    learning = {key: value for key, value in block.items() if key not in PLACEMENT_KEYS}
    return parse(SETTINGS_BY_KIND[kind], learning, config_key, f"a {kind!r} student")
