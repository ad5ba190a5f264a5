"""The whole workflow, for real: a tiny config through snakemake, then its tables and reruns."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
import yaml
from runner import REPO, TASKS, planned_jobs, planned_outputs, snakemake, write_config

pytestmark = pytest.mark.workflow

STUDENTS = {f"{s}@{labeler}:14" for s in ("tfidf-logreg", "minilm") for labeler in ("human", "gemma")}
CONDITIONS = STUDENTS | {"fewshot@gemma"}


def test_tables_hold_every_task_and_condition(finished_run):
    per_task = pd.read_csv(finished_run / "results/tables/per_task.csv")
    assert set(per_task["task"]) == set(TASKS)
    assert set(per_task["condition"]) == CONDITIONS
    assert len(per_task) == len(TASKS) * len(CONDITIONS)
    f1 = per_task.filter(like="f1").select_dtypes("number")
    assert ((f1.fillna(0) >= 0) & (f1.fillna(0) <= 1)).all().all()
    # The table is the mean over the metric files of each condition.
    for task in TASKS:
        metrics = json.loads(
            (finished_run / f"results/{task}/metrics/minilm@human/n14/seed1.json").read_text()
        )
        row = per_task[(per_task["task"] == task) & (per_task["condition"] == "minilm@human:14")]
        assert row.filter(regex="^f1").iloc[0, 0] == pytest.approx(metrics["f1"], abs=1e-9)
        assert metrics["n"] == 12
        assert metrics["ci"]["f1"][0] <= metrics["f1"] <= metrics["ci"]["f1"][1]


def test_medians_gaps_agreement_and_report(finished_run):
    tables = finished_run / "results/tables"
    medians = pd.read_csv(tables / "medians.csv")
    assert set(medians["condition"]) == CONDITIONS
    gaps = pd.read_csv(tables / "gaps.csv")
    assert not gaps.empty
    agreement = pd.read_csv(tables / "agreement.csv")
    assert set(agreement["task"]) == set(TASKS)
    assert agreement[["krippendorff_alpha", "coders_pairwise_alpha"]].notna().all().all()
    for name in ("per_task", "medians", "gaps", "agreement"):
        assert "tweets_negative" in (tables / f"{name}.md").read_text() or name == "medians"
        assert "\\begin{tabular}" in (tables / f"{name}.tex").read_text()
    png = (finished_run / "results/figures/f1_by_task.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    html = (finished_run / "results/report.html").read_text()
    assert all(task in html for task in TASKS) and "data:image/png;base64" in html


def test_every_labeler_of_a_seed_trains_on_the_same_ids(finished_run):
    for task in TASKS:
        drawn = {
            json.loads(
                (
                    finished_run / f"results/{task}/students/{student}/{labeler}/n14/seed1/training.json"
                ).read_text()
            )["drawn_ids_hash"]
            for student in ("tfidf-logreg", "minilm")
            for labeler in ("human", "gemma")
        }
        assert len(drawn) == 1, drawn


def test_intervals_gaps_coders_and_data_tables(finished_run):
    tables = finished_run / "results/tables"
    per_task = pd.read_csv(tables / "per_task.csv")
    assert (per_task["f1_ci_low"] <= per_task["f1_mean"] + 1e-9).all()
    assert (per_task["f1_mean"] <= per_task["f1_ci_high"] + 1e-9).all()
    assert per_task["human_positive_rate"].notna().all() and per_task["positive_rate_mean"].notna().all()
    gaps = pd.read_csv(tables / "gaps.csv")
    per_gap = gaps[gaps["task"] != "median"]
    assert per_gap[["gap_ci_low", "gap_ci_high", "p_value"]].notna().all().all()
    assert gaps.loc[gaps["task"] == "median", "n_tasks"].eq(len(TASKS)).all()
    data = pd.read_csv(tables / "data.csv")
    assert set(data["task"]) == set(TASKS) and (data["n_test"] == 12).all()
    assert pd.read_csv(tables / "agreement.csv")["positive_rate"].notna().all()
    for name in ("gaps_by_task", "reliability"):
        assert (finished_run / f"results/figures/{name}.png").read_bytes().startswith(b"\x89PNG")


def test_llm_labels_are_valid_and_fewshot_uses_them(finished_run):
    from labeldistill.contracts import LABELS, PREDICTIONS, read_table

    for task in TASKS:
        labels = read_table(finished_run / f"results/{task}/labels/gemma/test.parquet", LABELS)
        assert labels["label"].isin(["negative", "other"]).all()
        assert all(abs(sum(p) - 1) < 1e-6 for p in labels["probabilities"])
        assert labels["prompt_hash"].nunique() == 1 and labels["model"].iloc[0] == "gemma3-270m"
        fewshot = read_table(finished_run / f"results/{task}/predictions/fewshot@gemma.parquet", PREDICTIONS)
        assert fewshot["label"].tolist() == labels["label"].tolist()


def test_logs_and_benchmarks_are_written(finished_run):
    assert list((finished_run / "results/logs/annotate").rglob("*.log"))
    assert list((finished_run / "results/benchmarks/train").rglob("*.tsv"))


def test_finished_run_has_nothing_to_do(finished_run):
    result = snakemake(finished_run, "--dry-run")
    assert result.returncode == 0, result.stderr[-2000:]
    assert planned_jobs(result.stdout) == {}, result.stdout[-3000:]


def test_codebook_change_reruns_only_that_tasks_llm_branch(finished_run):
    codebook = finished_run / "data/tweets_negative/codebook.md"
    original, stat = codebook.read_text(), codebook.stat()
    codebook.write_text(original + "\nSarcasm that mocks something counts as negative.\n")
    try:
        result = snakemake(finished_run, "--dry-run")
    finally:  # leave the run as it was for the other tests, modification time included
        codebook.write_text(original)
        os.utime(codebook, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    jobs = planned_jobs(result.stdout)
    assert jobs["annotate_local"] == 1  # pool, val, test of tweets_negative by gemma, in one job
    assert "annotate" not in jobs  # human labels stay
    assert jobs["agreement"] == 1 and jobs["fewshot"] == 1
    assert jobs["train"] == 2  # both students on gemma labels, one seed; none on human labels
    assert "split" not in jobs and "prepare_local_model" not in jobs
    outputs = planned_outputs(result.stdout)
    assert outputs and not [path for path in outputs if path.startswith("results/nyt_negative")]


def test_student_settings_change_reruns_only_that_student(finished_run, tmp_path):
    config = yaml.safe_load((finished_run / "config.yaml").read_text())
    config["students"]["tfidf-logreg"]["C"] = 3.0
    changed = tmp_path / "run"
    changed.mkdir()
    write_config(changed, config)
    result = snakemake(finished_run, "--dry-run", "--configfile", str(changed / "config.yaml"))
    jobs = planned_jobs(result.stdout)
    n_runs = len(TASKS) * 2  # tasks x labelers x one seed
    assert jobs.get("train") == n_runs and "predict" not in jobs  # one job trains and predicts
    assert jobs.get("evaluate_student") == n_runs and "evaluate_fewshot" not in jobs
    assert not {"annotate", "annotate_local"} & set(jobs)
    assert not [path for path in planned_outputs(result.stdout) if "minilm" in path]


def test_package_code_change_reruns_exactly_its_stage(finished_run, workflow_copy):
    snakefile = workflow_copy / "Snakefile"
    assert planned_jobs(snakemake(finished_run, "--dry-run", snakefile=snakefile).stdout) == {}
    metrics = workflow_copy / "src/labeldistill/stats/metrics.py"
    metrics.write_text(metrics.read_text() + "\n# a change to the scoring code\n")
    jobs = planned_jobs(snakemake(finished_run, "--dry-run", snakefile=snakefile).stdout)
    assert jobs.get("evaluate_student") == len(TASKS) * 4 and jobs.get("evaluate_fewshot") == 2
    assert jobs.get("compare") == len(TASKS)  # its intervals use the scoring code
    assert not {"annotate", "annotate_local", "train", "split"} & set(jobs)


def test_lint_is_clean(finished_run):
    result = snakemake(finished_run, "--lint")
    assert result.returncode == 0 and "Congratulations" in result.stdout + result.stderr


def test_bad_config_fails_with_one_clear_line(tmp_path):
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "tasks": {
                    "t": {"texts": "missing.csv", "codebook": str(REPO / "config.yaml"), "labels": ["a", "b"]}
                },
                "students": {"s": {"kind": "tfidf-logreg"}},
            }
        )
    )
    result = snakemake(tmp_path, "--dry-run")
    assert result.returncode != 0
    assert result.stderr.strip() == "labeldistill: config key tasks.t.texts: file missing.csv not found"


def test_cost_estimate_sends_nothing_and_labels_nothing(tmp_path):
    from runner import tiny_task

    config = {
        "tasks": {"tweets_negative": tiny_task(REPO / "data/tweets_negative", tmp_path / "data", seed=11)},
        "split": {"seed": 3, "test": 12, "val": 8, "pool": 16},
        # Nothing listens on port 9: a single request would fail the job.
        "labelers": {
            "mini": {
                "backend": "openai",
                "model": "gpt-4o-mini",
                "base_url": "http://127.0.0.1:9/v1",
                "samples": 2,
            }
        },
        "students": {"tfidf-logreg": {"kind": "tfidf-logreg"}},
        "cache_dir": str(tmp_path / "cache"),
    }
    write_config(tmp_path, config)
    result = snakemake(tmp_path, "--cores", "1", "-f", "estimate_cost")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rule annotate" not in result.stdout + result.stderr
    estimate = pd.read_csv(tmp_path / "results/tables/cost_estimate.csv")
    assert estimate["requests"].tolist() == [36 * 2, 36 * 2]  # the task, then the total
    assert (estimate["dollars_max"] > 0).all()
    assert "mini (gpt-4o-mini, api sync): 72 requests to send" in result.stderr


def test_exported_students_carry_their_cards_and_give_the_runs_predictions(finished_run):
    """Each task's students, exported with a card that holds the test score, work outside the
    workflow: transformers' pipeline and scikit-learn give the run's own test predictions."""
    import joblib
    import numpy as np
    from transformers import pipeline

    from labeldistill.contracts import PREDICTIONS, SPLIT, read_table, table_labels

    task = "tweets_negative"
    export = finished_run / f"results/{task}/export"
    names = {str(path.parent.relative_to(export)) for path in export.rglob("student.json")}
    assert names == {
        f"{s}/{labeler}/n14/seed1" for s in ("tfidf-logreg", "minilm") for labeler in ("human", "gemma")
    }
    test = read_table(finished_run / f"results/{task}/splits/test.parquet", SPLIT)
    for student in ("minilm", "tfidf-logreg"):
        folder = export / f"{student}/gemma/n14/seed1"
        card = (folder / "README.md").read_text()
        metrics = json.loads(
            (finished_run / f"results/{task}/metrics/{student}@gemma/n14/seed1.json").read_text()
        )
        assert f"Test F1 of negative: {metrics['f1']:.3f}" in card and "gemma" in card
        predictions_file = finished_run / f"results/{task}/predictions/{student}@gemma/n14/seed1.parquet"
        predictions = read_table(predictions_file, PREDICTIONS).set_index("id").loc[test["id"]]
        labels = table_labels(predictions_file)
        expected = np.array(predictions["probabilities"].tolist())
        texts = test["text"].tolist()
        if student == "minilm":
            classify = pipeline("text-classification", model=str(folder), top_k=None, trust_remote_code=True)
            found = np.array(
                [
                    [{d["label"]: d["score"] for d in row}[label] for label in labels]
                    for row in classify(texts, truncation=True)
                ]
            )
        else:
            model = joblib.load(folder / "model.joblib")
            assert list(model.classes_) == labels
            found = model.predict_proba(texts)
        np.testing.assert_allclose(found, expected, atol=1e-5)
