"""The workflow on a real SLURM cluster, through `snakemake --profile profiles/slurm`.

Needs a running cluster with accounting (`tests/slurm/cluster.sh up`, as root); skipped when
there is none, unless LABELDISTILL_REQUIRE_SLURM=1 makes that a failure (CI). Checks: the same
tables and files as the local run, GPU requests recorded by SLURM for the GPU student only,
light rules kept off the cluster, and a job killed for memory that a retry recovers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from runner import REPO, TASKS, planned_jobs, snakemake, tiny_config, write_config

pytestmark = [pytest.mark.workflow, pytest.mark.slurm]

SLURM_ARGS = [
    "--profile",
    str(REPO / "profiles" / "slurm"),
    "--slurm-no-account",  # the test cluster has no accounts
    "--slurm-init-seconds-before-status-checks",
    "2",  # tiny jobs: look early
    "--slurm-partition-config",
    str(REPO / "tests" / "slurm" / "partitions.yaml"),
]
LIGHT_RULES = {"split", "agreement", "fewshot", "evaluate_student", "evaluate_fewshot", "compare", "report"}
RUN_LIMIT_S = 1800


def cluster_problem() -> str | None:
    """Why the tests cannot use a SLURM cluster here, or None when they can."""
    for tool in ("sinfo", "sbatch", "sacct"):
        if shutil.which(tool) is None:
            return f"SLURM is not installed ({tool} not found)"
    try:
        sinfo = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
        sacct = subprocess.run(
            ["sacct", "-n", "-X", "-S", "now-1minutes"], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        return "the SLURM controller does not answer"
    if sinfo.returncode != 0:
        return f"sinfo failed: {sinfo.stderr.strip()}"
    if not {"idle", "mixed", "allocated", "completing"} & set(sinfo.stdout.split()):
        return f"no SLURM node is up (sinfo: {' '.join(sinfo.stdout.split()) or 'no nodes'})"
    if sacct.returncode != 0:
        return f"SLURM accounting does not answer, and the executor plugin needs it: {sacct.stderr.strip()}"
    return None


@pytest.fixture(scope="session")
def slurm_cluster():
    problem = cluster_problem()
    if problem:
        message = f"{problem}; start the test cluster with `tests/slurm/cluster.sh up` (root)"
        if os.environ.get("LABELDISTILL_REQUIRE_SLURM") == "1":
            pytest.fail(f"LABELDISTILL_REQUIRE_SLURM=1 but {message}")
        pytest.skip(message)


def slurm_snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """snakemake through the SLURM profile. Snakemake ignores SIGTERM while it waits for cluster
    jobs, so timeout(1) sends SIGINT (Snakemake then cancels its jobs) and kills a minute later."""
    command = [
        "timeout",
        "-s",
        "INT",
        "-k",
        "60",
        str(RUN_LIMIT_S),
        str(Path(sys.executable).parent / "snakemake"),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(workdir / "config.yaml"),
        *SLURM_ARGS,
        *args,
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert result.returncode != 124, f"snakemake ran past {RUN_LIMIT_S} s:\n{result.stderr[-3000:]}"
    return result


def slurm_jobs(run_output: str) -> pd.DataFrame:
    """SLURM's accounting records of one Snakemake run: rule, state, partition, requested TRES."""
    run_id = re.search(r"SLURM run ID: (\S+)", run_output).group(1)
    fields = ["JobID", "Comment", "Partition", "State", "ReqTRES", "ReqMem"]
    result = subprocess.run(
        ["sacct", "-X", "-P", "-n", "--name", run_id, "-S", "now-1days", "-o", ",".join(fields)],
        capture_output=True,
        text=True,
        check=True,
    )
    jobs = pd.DataFrame([line.split("|") for line in result.stdout.splitlines()], columns=fields)
    jobs["rule"] = jobs["Comment"].str.extract(r"^rule_([a-z_]+?)(?:_wildcards_|$)")[0]
    return jobs.sort_values("JobID", key=lambda ids: ids.astype(int))


def result_files(workdir: Path) -> set[str]:
    return {str(path.relative_to(workdir)) for path in (workdir / "results").rglob("*") if path.is_file()}


# One task of the tiny config: every kind of job, half the cluster jobs of both tasks.
SLURM_TASK = "nyt_negative"


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, tmp_path_factory, local_model_dir):
    """One task of the tiny config run to completion on the cluster, the MiniLM student asking
    for a GPU."""
    workdir = tmp_path_factory.mktemp("slurm_run")
    config = tiny_config(workdir, local_model_dir.parent)
    config["tasks"] = {SLURM_TASK: config["tasks"][SLURM_TASK]}
    config["students"]["minilm"]["device"] = "gpu"  # the fake GPUs cannot run CUDA: it trains on the CPU
    write_config(workdir, config)
    result = slurm_snakemake(workdir)
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir, result.stdout + result.stderr


def test_slurm_run_gives_the_local_runs_tables_and_files(slurm_run, finished_run):
    workdir, _ = slurm_run
    for name in ("per_task", "agreement"):
        on_slurm = pd.read_csv(workdir / f"results/tables/{name}.csv")
        local = pd.read_csv(finished_run / f"results/tables/{name}.csv")
        local = local[local["task"] == SLURM_TASK].reset_index(drop=True)
        pd.testing.assert_frame_equal(on_slurm, local, check_exact=False, rtol=1e-6)
    assert len(pd.read_csv(workdir / "results/tables/per_task.csv")) == 5
    # Every output, log and benchmark of the local run's task (and the tables, figures and
    # report of the run), and nothing else.
    others = [task for task in TASKS if task != SLURM_TASK]
    local_files = {path for path in result_files(finished_run) if not any(task in path for task in others)}
    assert result_files(workdir) == local_files


def test_gpu_student_jobs_asked_slurm_for_a_gpu(slurm_run):
    _, output = slurm_run
    jobs = slurm_jobs(output)
    assert set(jobs["State"]) == {"COMPLETED"}
    assert jobs["rule"].value_counts().to_dict() == {
        "prepare_local_model": 1,
        "annotate": 2,  # human pool and val
        "annotate_local": 1,  # gemma: every part of the task in one job
        "train": 4,  # each also predicts the test texts
    }
    on_gpu = jobs["Comment"].str.contains("_minilm_")
    assert on_gpu.sum() == 2
    assert jobs.loc[on_gpu, "ReqTRES"].str.contains("gres/gpu=1").all()
    assert (jobs.loc[on_gpu, "Partition"] == "gpu").all()  # chosen by the plugin from partitions.yaml
    assert not jobs.loc[~on_gpu, "ReqTRES"].str.contains("gres/gpu").any()
    assert (jobs.loc[~on_gpu, "Partition"] == "debug").all()


def test_light_rules_stay_in_the_main_process(slurm_run):
    _, output = slurm_run
    assert not LIGHT_RULES & set(slurm_jobs(output)["rule"])
    assert {rule for rule in LIGHT_RULES if f"localrule {rule}:" in output} == LIGHT_RULES


def test_a_cluster_job_records_time_and_memory(slurm_run):
    workdir, _ = slurm_run
    benchmark = pd.read_csv(
        workdir / "results/benchmarks/train/nyt_negative/minilm/gemma/n14/seed1.tsv", sep="\t"
    )
    assert benchmark["max_rss"].iloc[0] > 100 and benchmark["s"].iloc[0] > 0
    assert (workdir / "results/logs/train/nyt_negative/minilm/gemma/n14/seed1.log").stat().st_size > 0


def test_a_job_killed_for_memory_is_retried_with_more(slurm_cluster, tmp_path, local_model_dir):
    """160 MB is too little for the job's own Snakemake process: SLURM kills it. Each retry
    doubles the request until the job fits; nothing of the killed attempts is left behind."""
    config = tiny_config(tmp_path, local_model_dir.parent)
    config["tasks"] = {"tweets_negative": config["tasks"]["tweets_negative"]}
    config["resources"] = {"train": {"mem_mb": 160}}
    write_config(tmp_path, config)
    target = "results/tweets_negative/students/tfidf-logreg/human/n14/seed1"
    result = slurm_snakemake(tmp_path, target, "--retries", "3")
    assert result.returncode == 0, result.stderr[-5000:]

    jobs = slurm_jobs(result.stdout + result.stderr)
    train = jobs[jobs["rule"] == "train"]
    assert len(train) >= 2 and train["State"].iloc[-1] == "COMPLETED"
    assert set(train["State"].iloc[:-1]) <= {"FAILED", "OUT_OF_MEMORY"}
    assert train["ReqMem"].tolist() == [f"{160 * 2**attempt}M" for attempt in range(len(train))]
    slurm_logs = (tmp_path / ".snakemake/slurm_logs/rule_train").rglob("*.log")
    assert any("exceeded memory limit" in log.read_text() for log in slurm_logs)

    from labeldistill.students import load_student

    probabilities = load_student(tmp_path / target).predict_proba(["what a terrible, awful day"])
    assert probabilities.shape == (1, 2)
    assert not list((tmp_path / ".snakemake/incomplete").rglob("*"))  # no half-written output
    dry_run = snakemake(tmp_path, "--dry-run", target)
    assert dry_run.returncode == 0 and planned_jobs(dry_run.stdout) == {}, dry_run.stdout[-2000:]
