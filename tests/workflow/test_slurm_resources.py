"""What each job asks a cluster for, read from a dry run (no cluster needed)."""

from __future__ import annotations

import re

import pytest
from runner import snakemake, tiny_config, write_config

pytestmark = pytest.mark.workflow


def planned_resources(dry_run_output: str) -> list[tuple[str, dict, dict]]:
    """(rule, wildcards, resources) of every job a dry run prints."""
    jobs, rule, wildcards = [], None, {}
    for line in dry_run_output.splitlines():
        if match := re.match(r"^(?:local)?rule (\S+):$", line):
            rule, wildcards = match.group(1), {}
        elif match := re.match(r"^\s+wildcards: (.*)$", line):
            wildcards = dict(item.split("=", 1) for item in match.group(1).split(", "))
        elif (match := re.match(r"^\s+resources: (.*)$", line)) and rule != "all":
            resources = dict(item.split("=", 1) for item in match.group(1).split(", "))
            jobs.append((rule, wildcards, resources))
    return jobs


def dry_run(workdir, config) -> list[tuple[str, dict, dict]]:
    write_config(workdir, config)
    result = snakemake(workdir, "--dry-run")
    assert result.returncode == 0, result.stderr[-3000:]
    return planned_resources(result.stdout)


def test_the_cpu_default_asks_for_no_gpu(tmp_path, local_model_dir):
    jobs = dry_run(tmp_path, tiny_config(tmp_path, local_model_dir.parent))
    assert {rule for rule, _, _ in jobs} >= {
        "split",
        "annotate",
        "annotate_local",
        "train",
        "evaluate_student",
        "report",
    }
    assert all(resources.get("gpu", "0") == "0" for _, _, resources in jobs)
    for rule, _, resources in jobs:  # every job says how much memory and time it needs
        assert int(resources["mem_mb"]) > 0 and int(resources["runtime"]) > 0, rule


def test_only_gpu_students_ask_for_a_gpu_with_the_configured_resources(tmp_path, local_model_dir):
    config = tiny_config(tmp_path, local_model_dir.parent)
    config["students"]["minilm"]["device"] = "gpu"
    config["resources"] = {"train": {"mem_mb": 3000, "runtime": 50, "gpu": 2, "slurm_partition": "gpu"}}
    jobs = dry_run(tmp_path, config)
    train = [(w, r) for rule, w, r in jobs if rule == "train"]
    assert len(train) == 8
    for wildcards, resources in train:
        gpu = wildcards["student"] == "minilm"
        assert resources["gpu"] == ("2" if gpu else "0")
        assert resources["mem_mb"] == "3000" and resources["runtime"] == "50"
        assert resources["slurm_partition"] == "gpu"
    assert all(
        r["gpu"] == "0" for rule, _, r in jobs if rule in ("annotate", "annotate_local")
    )  # a local LLM runs on the CPU


def test_a_gpu_tfidf_student_is_refused_with_one_line(tmp_path, local_model_dir):
    config = tiny_config(tmp_path, local_model_dir.parent)
    config["students"]["tfidf-logreg"]["device"] = "gpu"
    write_config(tmp_path, config)
    result = snakemake(tmp_path, "--dry-run")
    assert result.returncode != 0
    assert result.stderr.strip().startswith("labeldistill: config key students.tfidf-logreg.device:")
