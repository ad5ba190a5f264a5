"""What a job asks a cluster for: memory, runtime, GPUs and partition, from config `resources`.

Settings are per rule family (`annotate`, `train`, `predict`, `prepare_local_model`, and
`default` for the light rules). Only GPU jobs ask for GPUs: annotation by a labeler whose
backend runs on a GPU (`vllm`), training and prediction of a student with `device: gpu`.
Memory and runtime double with every retry, so that a job killed for outgrowing either gets
more on its next attempt (`retries` in the profile).
"""

from __future__ import annotations

from labeldistill.errors import LabelDistillError

FAMILIES = ("default", "prepare_local_model", "annotate", "train", "predict")
GPU_FAMILIES = ("annotate", "train", "predict")
GPU_BACKENDS = frozenset({"vllm"})
GPU_STUDENT_KINDS = frozenset({"transformer"})

# The schema fills these in; repeated here for callers that skip validation (unit tests).
DEFAULTS = {
    "default": {"mem_mb": 1000, "runtime": 15},
    "prepare_local_model": {"mem_mb": 4000, "runtime": 30},
    "annotate": {"mem_mb": 4000, "runtime": 120, "gpu": 1},
    "train": {"mem_mb": 4000, "runtime": 120, "gpu": 1},
    "predict": {"mem_mb": 2000, "runtime": 30, "gpu": 1},
}


def family_settings(config: dict, family: str) -> dict:
    """The resource settings of a rule family, defaults filled in."""
    if family not in FAMILIES:
        raise ValueError(f"unknown rule family {family!r} (valid: {list(FAMILIES)})")
    return {**DEFAULTS[family], **config.get("resources", {}).get(family, {})}


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


def check_resources(config: dict) -> None:
    """What the schema cannot say: only transformer students can run on a GPU."""
    for name, student in config["students"].items():
        if student_on_gpu(student) and student.get("kind") not in GPU_STUDENT_KINDS:
            raise LabelDistillError(
                f"config key students.{name}.device: a {student.get('kind')!r} student runs on the "
                f"CPU only (device: gpu is for kinds {sorted(GPU_STUDENT_KINDS)})"
            )
