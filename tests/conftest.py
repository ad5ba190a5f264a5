"""Shared fixtures: the real small LLM is converted once per test session and reused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Keep the two cores for the test at hand and never reach for a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

DEFAULT_LOCAL_MODEL = "gemma3-270m"


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    """A folder of converted local models, shared by every test in the session.

    Set LABELDISTILL_TEST_MODELS to a persistent folder to keep conversions across sessions.
    """
    persistent = os.environ.get("LABELDISTILL_TEST_MODELS")
    return Path(persistent) if persistent else tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def local_model_dir(models_dir) -> Path:
    """The default local LLM, converted from its registry package into a transformers folder,
    in the same content-addressed folder the workflow tests' runs find in `models_dir` (so a
    session converts it once, not once for the unit tests and again for the workflow)."""
    from labeldistill.teachers.local.models import ensure_local_model

    folder, _ = ensure_local_model(DEFAULT_LOCAL_MODEL, models_dir)
    return folder
