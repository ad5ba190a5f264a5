"""A three-label scheme through the real workflow, both ways: one task scored by macro-F1, and
`one_vs_rest: true` as three binary tasks grouped back under it. A tiny stand-in LLM labels
(only the plumbing is under test here) and the TF-IDF student learns."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from runner import REPO, snakemake, write_config
from tiny_llm import build_tiny_llm

pytestmark = pytest.mark.workflow

LABELS = ["negative", "neutral", "positive"]
PER_LABEL = {"negative": 16, "neutral": 14, "positive": 18}


def three_label_task(out):
    """A few dozen real tweets of the bundled three-label task, their coders and codebook."""
    source = REPO / "data" / "tweets_sentiment"
    out.mkdir(parents=True)
    texts = pd.read_csv(source / "texts.csv", dtype=str, keep_default_na=False)
    picked = pd.concat(
        [texts[texts["label"] == label].sample(n, random_state=4) for label, n in PER_LABEL.items()]
    )
    picked.to_csv(out / "texts.csv", index=False)
    coders = pd.read_csv(source / "coder_labels.csv.gz", dtype=str)
    coders[coders["id"].isin(picked["id"])].to_csv(out / "coder_labels.csv", index=False)
    (out / "codebook.md").write_text((source / "codebook.md").read_text())
    return {
        "texts": str(out / "texts.csv"),
        "codebook": str(out / "codebook.md"),
        "coder_labels": str(out / "coder_labels.csv"),
        "labels": LABELS,
    }


@pytest.fixture(scope="module")
def multiclass_run(tmp_path_factory, local_model_dir):
    workdir = tmp_path_factory.mktemp("multiclass")
    task = three_label_task(workdir / "data")
    config = {
        "tasks": {"tone": task, "tone_ovr": {**task, "one_vs_rest": True}},
        "split": {"seed": 3, "test": 15, "val": 9, "pool": 18},
        "labelers": {
            "tiny": {
                "backend": "local",
                "model": str(build_tiny_llm(workdir / "tiny-gemma", local_model_dir)),
                "shots": 3,
                "calibration_texts": 6,
            }
        },
        "students": {"tfidf-logreg": {"kind": "tfidf-logreg", "cv_folds": 2}},
        "seeds": [1],
        # 9 val texts: coders who coded 5 of them are scored (the like-for-like baseline)
        "evaluation": {"n_boot": 200, "alt_test": {"min_texts": 5}},
        "models_dir": str(workdir / "models"),
    }
    write_config(workdir, config)
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir, result


TASKS = ["tone", "tone_ovr.negative", "tone_ovr.neutral", "tone_ovr.positive"]


def test_a_three_label_task_is_scored_by_macro_f1_with_per_class_figures(multiclass_run):
    workdir, _ = multiclass_run
    tables = workdir / "results/tables"
    per_task = pd.read_csv(tables / "per_task.csv")
    assert sorted(per_task["task"].unique()) == TASKS
    assert set(per_task.loc[per_task["task"] == "tone", "headline"]) == {"macro_f1"}
    assert set(per_task.loc[per_task["task"] != "tone", "headline"]) == {"f1"}
    assert set(per_task["task_group"]) == {"tone", "tone_ovr"}
    metrics = json.loads((workdir / "results/tone/metrics/tfidf-logreg@human/nall/seed1.json").read_text())
    assert [row["label"] for row in metrics["per_class"]] == LABELS
    assert metrics["confusion"]["labels"] == LABELS
    per_class = pd.read_csv(tables / "per_class.csv")
    row = per_class[
        (per_class["condition"] == "tfidf-logreg@human:all") & (per_class["label"] == "neutral")
    ].iloc[0]
    assert row["f1_mean"] == pytest.approx(metrics["per_class"][1]["f1"])
    assert set(per_class["task"]) == {"tone"}
    gaps = pd.read_csv(tables / "gaps.csv")
    assert set(gaps.loc[gaps["task"] == "tone", "metric"]) == {"macro_f1"}
    # the validation step names the headline too, with the LLM's and the coders' macro-F1
    agreement = pd.read_csv(tables / "agreement.csv").set_index("task")
    assert (
        agreement.loc["tone", "headline"] == "macro_f1"
        and agreement.loc["tone_ovr.neutral", "headline"] == "f1"
    )
    coders = pd.read_csv(tables / "coders.csv").set_index("task")
    assert coders.loc["tone", ["macro_f1", "coder_macro_f1_median"]].notna().all()
    html = (workdir / "results/report.html").read_text()
    assert "Per label: tasks scored by macro-F1" in html and "confusion" in html


def test_one_vs_rest_tasks_share_their_test_texts_and_gold_positives_sum_to_one(multiclass_run):
    workdir, _ = multiclass_run
    positive = []
    for label in LABELS:
        test = pd.read_parquet(workdir / f"results/tone_ovr.{label}/splits/test.parquet").set_index("id")
        assert set(test["label"]) <= {label, "other"}
        positive.append((test["label"] == label).astype(int).rename(label))
    gold = pd.read_parquet(workdir / "results/tone/splits/test.parquet").set_index("id")["label"]
    both = pd.concat(positive, axis=1)
    assert set(both.index) == set(gold.index)  # the same test texts as the three-label task
    assert (both.sum(axis=1) == 1).all()
    assert (both.idxmax(axis=1) == gold[both.index]).all()
    # the coders' labels were mapped: the agreement of each binary task has coders
    agreement = pd.read_csv(workdir / "results/tables/agreement.csv").set_index("task")
    assert agreement[["coders_pairwise_alpha", "n_coders_median"]].notna().all().all()
    labels = pd.read_parquet(workdir / "results/tone_ovr.neutral/labels/tiny/test.parquet")
    assert set(labels["label"].dropna()) <= {"neutral", "other"}


def test_thin_test_parts_warn_at_parse_time_and_in_the_tables(multiclass_run):
    workdir, result = multiclass_run
    # 15 test texts hold 4-6 of each label: every headline label is thin
    assert "tasks.tone: only " in result.stderr and "more human-coded test texts" in result.stderr
    data = pd.read_csv(workdir / "results/tables/data.csv").set_index("task")
    assert data.loc["tone", "test_note"].count("in test") == 3
    assert data.loc["tone_ovr.negative", "test_note"].startswith("negative: ")
