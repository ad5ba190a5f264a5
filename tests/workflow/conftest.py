"""Fixtures: one tiny workflow run per session, and an editable copy of the workflow."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from runner import REPO, WORKFLOW_FILES, snakemake, tiny_config, write_config


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory, local_model_dir):
    """A tiny workflow run to completion, shared by the tests that inspect or rerun it."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    write_config(workdir, tiny_config(workdir, local_model_dir.parent))
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir


@pytest.fixture()
def workflow_copy(tmp_path) -> Path:
    """A copy of the workflow's code, to edit without touching the repository."""
    for name in WORKFLOW_FILES:
        source = REPO / name
        target = tmp_path / "workflow" / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    return tmp_path / "workflow"


def pytest_configure(config):
    # Registered here too, so that `-m "not slurm"` works before pyproject.toml lists it.
    config.addinivalue_line(
        "markers", "slurm: runs the workflow on a real SLURM cluster (tests/slurm/cluster.sh up)"
    )
