"""What a job asks a cluster for: memory, runtime, GPUs and partition, from config `resources`.

Settings are per rule family (`annotate`, `train`, `predict`, `prepare_local_model`, and
`default` for the light rules). Only GPU jobs ask for GPUs: annotation by a labeler whose
backend runs on a GPU (`vllm`), training and prediction of a student with `device: gpu`.
Memory and runtime double with every retry, so that a job killed for outgrowing either gets
more on its next attempt (`retries` in the profile).
"""

from __future__ import annotations

from labeldistill.config.schema import schema_defaults

FAMILIES = ("default", "prepare_local_model", "annotate", "train", "predict")
GPU_FAMILIES = ("annotate", "train", "predict")
GPU_BACKENDS = frozenset({"vllm"})
GPU_STUDENT_KINDS = frozenset({"transformer", "setfit"})


def family_settings(config: dict, family: str) -> dict:
    """The resource settings of a rule family, defaults filled in."""
    if family not in FAMILIES:
        raise ValueError(f"unknown rule family {family!r} (valid: {list(FAMILIES)})")
    return {**schema_defaults("resources", family), **config.get("resources", {}).get(family, {})}


def scaled(value: int, attempt: int) -> int:
    """A memory or runtime request on the given attempt (1, 2, ...): doubled per retry."""
    return int(value) * 2 ** (max(int(attempt), 1) - 1)


def labeler_on_gpu(settings: dict) -> bool:
    return settings.get("backend") in GPU_BACKENDS


def student_on_gpu(settings: dict) -> bool:
    return settings.get("device", "cpu") == "gpu"


def gpus(config: dict, family: str, on_gpu: bool) -> int:
    """GPUs a job of the family asks for: none unless it runs on a GPU."""
    return int(family_settings(config, family).get("gpu", 0)) if on_gpu else 0
