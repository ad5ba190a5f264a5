"""The `.test/` config, run for real as a user would: `snakemake --cores 2 --configfile
.test/config.yaml` in a checkout (a copy of the workflow, the demo data linked in). It writes
only into its own results folder, results/test, where the default run's dry run plans nothing."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from runner import REPO, WORKFLOW_FILES, planned_jobs, planned_outputs, snakemake

pytestmark = pytest.mark.workflow

CONFIG = yaml.safe_load((REPO / ".test" / "config.yaml").read_text())
RESULTS = CONFIG["results"]
TASKS = list(CONFIG["tasks"])
TABLES = ["per_task", "medians", "label_budget", "data"]
# A checkout: the workflow's code, the default config and .test/ (the demo data linked in).
COPIED = [*WORKFLOW_FILES, "config.yaml", ".test"]


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory):
    checkout = tmp_path_factory.mktemp("ci_checkout")
    for name in COPIED:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, checkout / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / name, checkout / name)
    (checkout / "data").symlink_to(REPO / "data", target_is_directory=True)
    result = in_checkout(checkout, ".test/config.yaml", "--cores", "2")
    assert result.returncode == 0, result.stderr[-4000:]
    return checkout


def in_checkout(checkout: Path, config: str, *args: str):
    """`snakemake --configfile <config> <args>` run in the checkout, on its own Snakefile."""
    return snakemake(checkout, *args, snakefile=checkout / "Snakefile", configfile=checkout / config)


def between(value, low, high) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and low <= value <= high


def test_the_ci_config_writes_its_tables_and_metrics(ci_run):
    results = ci_run / RESULTS
    for name in TABLES:
        for ext in ("csv", "md", "tex"):
            assert (results / f"tables/{name}.{ext}").stat().st_size > 0, f"{name}.{ext}"
    per_task = pd.read_csv(results / "tables/per_task.csv")
    sizes = [str(size) for size in CONFIG["train_sizes"]]
    assert sorted(per_task["condition"]) == sorted(f"tfidf-logreg@human:{size}" for size in sizes)
    for column in ("f1_mean", "precision_mean", "recall_mean", "accuracy_mean", "macro_f1_mean"):
        assert per_task[column].between(0, 1).all(), column
    assert (per_task["n_test"] == CONFIG["split"]["test"]).all()
    data = pd.read_csv(results / "tables/data.csv").set_index("task")
    assert data.loc[TASKS[0], "n_pool"] == CONFIG["split"]["pool"]
    for size in sizes:
        metrics = json.loads(
            (results / f"{TASKS[0]}/metrics/tfidf-logreg@human/n{size}/seed1.json").read_text()
        )
        assert metrics["n"] == CONFIG["split"]["test"] and metrics["n_failed"] == 0
        for key in ("f1", "precision", "recall", "accuracy", "macro_f1", "positive_rate", "brier", "ece"):
            assert between(metrics[key], 0, 1), (key, metrics[key])
        low, high = metrics["ci"]["f1"]
        assert between(low, 0, 1) and between(high, low, 1)
    assert (results / "report.html").stat().st_size > 10_000


def test_the_ci_config_writes_only_into_its_results_folder(ci_run):
    # Besides the checkout's files and Snakemake's metadata, only the results folder was made.
    top = Path(RESULTS).parts[0]
    assert {path.name for path in ci_run.iterdir()} == {*COPIED, "data", ".snakemake", top}
    made = [path for path in (ci_run / top).rglob("*") if path.is_file()]
    assert made and all(path.is_relative_to(ci_run / RESULTS) for path in made)
    logs = list((ci_run / RESULTS / "logs").rglob("*.log"))
    benchmarks = list((ci_run / RESULTS / "benchmarks").rglob("*.tsv"))
    assert logs and benchmarks


def test_the_default_run_plans_nothing_in_the_ci_folder(ci_run):
    again = in_checkout(ci_run, ".test/config.yaml", "--dry-run")
    assert again.returncode == 0 and planned_jobs(again.stdout) == {}, again.stdout[-3000:]
    default = in_checkout(ci_run, "config.yaml", "--dry-run")
    assert default.returncode == 0, default.stderr[-3000:]
    paths = planned_outputs(default.stdout, ("output", "log", "benchmark"))
    assert "results/report.html" in paths
    assert not [path for path in paths if path.startswith(f"{RESULTS}/")]
