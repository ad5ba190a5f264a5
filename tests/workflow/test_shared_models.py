"""Two checkouts sharing one models folder: one conversion between them, and neither's
results go stale because of the other (the shared folder is no Snakemake output)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from runner import REPO, planned_jobs, snakemake, tiny_config, write_config
from tiny_llm import build_tiny_llm

pytestmark = pytest.mark.workflow


def small_config(workdir, models_dir, source) -> dict:
    """The tests' tiny config, cut to one task and the TF-IDF student, labelled by a tiny LLM."""
    config = tiny_config(workdir, models_dir)
    config["tasks"] = {"tweets_negative": config["tasks"]["tweets_negative"]}
    config["students"] = {"tfidf-logreg": config["students"]["tfidf-logreg"]}
    config["labelers"]["gemma"]["model"] = str(source)
    return config


def test_two_checkouts_share_one_conversion(tmp_path, local_model_dir, workflow_copy):
    source = build_tiny_llm(tmp_path / "tiny-gemma", local_model_dir)
    models = tmp_path / "shared-models"
    # Two checkouts of the workflow (the repository and a copy), each with its own results.
    checkouts = {tmp_path / "first": REPO / "Snakefile", tmp_path / "second": workflow_copy / "Snakefile"}
    for workdir in checkouts:
        workdir.mkdir()
        write_config(workdir, small_config(workdir, models, source))
    # Both at once, as two people's runs would be: one converts, the other waits and finds it.
    with ThreadPoolExecutor(2) as pool:
        runs = list(
            pool.map(lambda item: snakemake(item[0], "--cores", "1", snakefile=item[1]), checkouts.items())
        )
    for run in runs:
        assert run.returncode == 0, run.stderr[-4000:]
    records = [json.loads((workdir / "results/models/tiny-gemma.json").read_text()) for workdir in checkouts]
    folder = Path(records[0]["folder"])
    assert Path(records[1]["folder"]) == folder and folder.parent == models
    assert sorted(record["converted_here"] for record in records) == [False, True]  # one conversion
    assert [path.name for path in models.iterdir() if not path.name.startswith(".")] == [folder.name]
    # The first checkout's results stay up to date after the second one's run.
    assert planned_jobs(snakemake(tmp_path / "first", "--dry-run").stdout) == {}
    again = snakemake(tmp_path / "second", "--dry-run", snakefile=workflow_copy / "Snakefile")
    assert planned_jobs(again.stdout) == {}
