"""Each rule's conda env pins its pip packages: `==` a version within pyproject.toml's lower bound,
and torch's CPU build from PyTorch's CPU wheel index (PyPI's torch brings the CUDA libraries)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
ENVS = sorted((REPO / "envs").glob("*.yaml"))
CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"


def pip_entries(env_file: Path) -> list[str]:
    """The pip section of a conda env file, comments stripped by YAML."""
    entries = []
    for dependency in yaml.safe_load(env_file.read_text())["dependencies"]:
        if isinstance(dependency, dict):
            entries.extend(dependency["pip"])
    return entries


def requirements(env_file: Path) -> dict[str, Requirement]:
    """{canonical name: requirement} of the env's pip packages (index options left out)."""
    found = {}
    for entry in pip_entries(env_file):
        if not entry.startswith("-"):
            requirement = Requirement(entry)
            found[canonicalize_name(requirement.name)] = requirement
    return found


def lower_bounds() -> dict[str, Requirement]:
    """{canonical name: requirement} of pyproject.toml's dependencies and extras."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    listed = [
        *project["dependencies"],
        *(d for extra in project["optional-dependencies"].values() for d in extra),
    ]
    found = {canonicalize_name(Requirement(entry).name): Requirement(entry) for entry in listed}
    found.pop(canonicalize_name(project["name"]), None)  # the extras naming the package itself
    return found


def pinned_version(requirement: Requirement) -> str:
    (specifier,) = requirement.specifier
    return specifier.version


def test_the_envs_are_read():
    assert {path.name for path in ENVS} >= {"annotate.yaml", "train.yaml", "report.yaml"}
    assert all(requirements(path) for path in ENVS)


@pytest.mark.parametrize("env_file", ENVS, ids=lambda path: path.name)
def test_every_pip_package_is_pinned(env_file):
    options = [entry for entry in pip_entries(env_file) if entry.startswith("-")]
    assert set(options) <= {CPU_INDEX}, f"{env_file.name}: pip options other than torch's index: {options}"
    loose = {
        name: str(requirement.specifier)
        for name, requirement in requirements(env_file).items()
        if len(requirement.specifier) != 1
        or next(iter(requirement.specifier)).operator != "=="
        or requirement.extras
        or requirement.marker
    }
    assert not loose, f"{env_file.name}: pin these with == (the version the tests ran with): {loose}"


@pytest.mark.parametrize("env_file", ENVS, ids=lambda path: path.name)
def test_torch_is_the_cpu_build_from_the_cpu_index(env_file):
    torch = requirements(env_file).get("torch")
    if torch is None:
        assert CPU_INDEX not in pip_entries(env_file), f"{env_file.name} lists torch's index without torch"
        return
    assert CPU_INDEX in pip_entries(env_file), f"{env_file.name}: torch without {CPU_INDEX}"
    assert re.fullmatch(r"[0-9.]+\+cpu", pinned_version(torch)), f"{env_file.name}: torch {torch.specifier}"


@pytest.mark.parametrize("env_file", ENVS, ids=lambda path: path.name)
def test_every_pin_satisfies_the_lower_bound_of_pyproject(env_file):
    bounds = lower_bounds()
    assert "torch" in bounds and "setfit" in bounds  # the extras are read too
    outside = {
        name: f"{pinned_version(requirement)} (pyproject.toml: {bounds[name].specifier})"
        for name, requirement in requirements(env_file).items()
        if name in bounds
        and not bounds[name].specifier.contains(pinned_version(requirement), prereleases=True)
    }
    assert not outside, f"{env_file.name}: pins below pyproject.toml's bounds: {outside}"
