"""The config key `results`: every output, log and benchmark path of a run is built from it, so
configs with folders of their own share a working directory without colliding; a folder that
would mix the outputs with other files is refused at parse, in one line naming the key."""

from __future__ import annotations

import pytest
import yaml
from runner import planned_jobs, planned_outputs, snakemake, tiny_config, write_config

KINDS = ("output", "log", "benchmark")


@pytest.mark.workflow
def test_configs_with_their_own_folders_plan_disjoint_paths(tmp_path):
    # One working directory, three configs: the default folder, one inside it, one elsewhere.
    workdir = tmp_path / "work"
    workdir.mkdir()
    base = tiny_config(workdir, tmp_path / "models")
    folders = {"default": "results", "nested": "results/other", "absolute": str(tmp_path / "elsewhere")}
    planned = {}
    for name, folder in folders.items():
        config = dict(base) if name == "default" else {**base, "results": folder}
        (workdir / f"{name}.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        dry = snakemake(workdir, "--dry-run", configfile=workdir / f"{name}.yaml")
        assert dry.returncode == 0, dry.stderr[-3000:]
        assert planned_jobs(dry.stdout)["report"] == 1
        planned[name] = set(planned_outputs(dry.stdout, KINDS))
        # Every kind of path is there, and every path of the config lies in its own folder.
        for kind in KINDS:
            assert planned_outputs(dry.stdout, (kind,)), f"{name}: no {kind} path planned"
        assert all(path.startswith(f"{folder}/") for path in planned[name]), name
    assert f"{folders['nested']}/report.html" in planned["nested"]
    assert not planned["default"] & planned["nested"]
    assert not any(path.startswith(f"{folders['nested']}/") for path in planned["default"])
    assert not (planned["default"] | planned["nested"]) & planned["absolute"]


@pytest.mark.workflow
def test_a_folder_above_the_working_directory_stops_the_parse(tmp_path):
    write_config(tmp_path, {**tiny_config(tmp_path, tmp_path / "models"), "results": "../outside"})
    result = snakemake(tmp_path, "--dry-run")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "config key results" in line]
    assert lines == [
        "labeldistill: config key results: '../outside' leads outside the working directory; give a "
        "folder inside it (such as results/mystudy) or an absolute path"
    ], result.stderr[-2000:]
    assert not (tmp_path.parent / "outside").exists() and not (tmp_path / "results").exists()
