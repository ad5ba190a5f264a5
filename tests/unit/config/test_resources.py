from pathlib import Path

import pytest
import yaml

from labeldistill.config import resources as res
from labeldistill.errors import LabelDistillError
from labeldistill.students.settings import check_student

SCHEMA = Path(__file__).resolve().parents[3] / "schemas" / "config.schema.yaml"


def test_every_rule_family_has_its_defaults_in_the_schema():
    families = yaml.safe_load(SCHEMA.read_text())["properties"]["resources"]["properties"]
    assert set(families) == set(res.FAMILIES)
    for family in res.FAMILIES:
        assert {"mem_mb", "runtime"} <= set(res.family_settings({}, family))


def test_family_settings_fill_defaults_under_the_users_values():
    config = {"resources": {"train": {"mem_mb": 16000, "slurm_partition": "gpu"}}}
    assert res.family_settings(config, "train") == {
        "mem_mb": 16000,
        "runtime": 120,
        "gpu": 1,
        "slurm_partition": "gpu",
    }
    assert res.family_settings({}, "default") == {"mem_mb": 1000, "runtime": 15}
    with pytest.raises(ValueError, match="unknown rule family"):
        res.family_settings({}, "trian")


def test_memory_and_runtime_double_per_attempt():
    assert [res.scaled(1000, attempt) for attempt in (1, 2, 3)] == [1000, 2000, 4000]
    assert res.scaled(15, 0) == 15  # Snakemake counts attempts from 1


def test_only_gpu_jobs_ask_for_gpus():
    config = {"resources": {"annotate": {"gpu": 2}}}
    assert res.gpus(config, "annotate", on_gpu=True) == 2
    assert res.gpus(config, "annotate", on_gpu=False) == 0
    assert res.gpus({}, "train", on_gpu=True) == 1
    assert res.labeler_on_gpu({"backend": "vllm"}) and not res.labeler_on_gpu({"backend": "local"})
    assert not res.labeler_on_gpu({"backend": "openai"})
    assert res.student_on_gpu({"kind": "transformer", "device": "gpu"})
    assert not res.student_on_gpu({"kind": "transformer"})


def test_a_cpu_only_student_cannot_ask_for_a_gpu():
    assert check_student("bert", {"kind": "transformer", "device": "gpu"})["device"] == "gpu"
    with pytest.raises(
        LabelDistillError, match="students.tfidf.device: a 'tfidf-logreg' student runs on the CPU"
    ):
        check_student("tfidf", {"kind": "tfidf-logreg", "device": "gpu"})
