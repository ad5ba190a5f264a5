"""The paper's whole design through the real workflow: several training sizes per labeler,
an augmented condition, and several few-shot draws of one LLM labeler.

The LLM is the fake OpenAI-compatible server of tests/fake_openai_server.py (a real HTTP server
on 127.0.0.1), sampled at a temperature so that its labels are noisy but mixed; the student is
TF-IDF + logistic regression, so the run takes about a minute.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fake_openai_server import FakeOpenAIServer
from runner import REPO, planned_jobs, snakemake, tiny_task, write_config

from labeldistill.tasks.sampling import draw_ids

pytestmark = pytest.mark.workflow

TASK = "tweets_negative"
SIZES = {"human": ["6", "14"], "llm": ["14"], "human6+llm": ["14"]}
SEEDS = [1, 2]
DRAWS = [0, 1]


@pytest.fixture(scope="module")
def design_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("design_run")
    with FakeOpenAIServer() as server:
        config = {
            "tasks": {TASK: tiny_task(REPO / "data" / TASK, workdir / "data" / TASK, seed=11)},
            "split": {"seed": 3, "test": 12, "val": 8, "pool": 16},
            "labelers": {
                "llm": {
                    "backend": "openai",
                    "base_url": server.base_url,
                    "model": "fake",
                    "api_key_env": None,
                    "temperature": 0.8,
                    "shots": 2,
                    "shots_seeds": DRAWS,
                    "train_sizes": [14],
                }
            },
            "human": {"train_sizes": [6, 14], "cost_per_label": 0.5},
            "augment": [{"human": 6, "with": "llm"}],
            "students": {"tfidf-logreg": {"kind": "tfidf-logreg", "C": 1.0, "ngram_max": 1}},
            "seeds": SEEDS,
            "evaluation": {"n_boot": 200},
            "cache_dir": str(workdir / "cache"),
        }
        write_config(workdir, config)
        dry = snakemake(workdir, "-n", "--cores", "2")
        assert dry.returncode == 0, dry.stderr[-3000:]
        run = snakemake(workdir, "--cores", "2")
        assert run.returncode == 0, run.stderr[-4000:]
    return workdir, planned_jobs(dry.stdout)


def test_every_labeler_trains_at_its_own_sizes_in_named_paths(design_run):
    workdir, jobs = design_run
    # human at 6 and 14, the augmented and the LLM labeler at 14: 4 conditions x 2 seeds.
    assert jobs["train"] == 8
    # Each prompt draw labels every part once: 2 draws x 3 parts, plus the human test labels.
    assert jobs["annotate"] == len(DRAWS) * 3 + 2
    results = workdir / "results" / TASK
    for labeler, sizes in SIZES.items():
        for size in sizes:
            for seed in SEEDS:
                metrics = results / "metrics" / f"tfidf-logreg@{labeler}" / f"n{size}" / f"seed{seed}.json"
                record = json.loads(metrics.read_text())
                assert record["condition"] == f"tfidf-logreg@{labeler}:{size}"
                assert record["train_size"] == size
                training = json.loads(
                    (
                        results / "students/tfidf-logreg" / labeler / f"n{size}" / f"seed{seed}/training.json"
                    ).read_text()
                )
                assert training["n_drawn"] == int(size)
    per_task = pd.read_csv(workdir / "results/tables/per_task.csv")
    assert set(per_task["condition"]) == {
        *(f"tfidf-logreg@{labeler}:{size}" for labeler, sizes in SIZES.items() for size in sizes),
        "fewshot@llm",
    }


def test_augmented_students_see_exactly_k_human_labels(design_run):
    workdir, _ = design_run
    results = workdir / "results" / TASK
    pool_ids = pd.read_parquet(results / "splits/pool.parquet")["id"]
    human = pd.read_parquet(results / "labels/human/pool.parquet").set_index("id")["label"]
    for seed, draw in zip(SEEDS, DRAWS, strict=True):
        training = json.loads(
            (results / f"students/tfidf-logreg/human6+llm/n14/seed{seed}/training.json").read_text()
        )
        assert training["human_count"] == 6 and training["n_human_labels"] == 6
        # The same 14 texts as the pure conditions of this seed, 6 of them with their human label
        # and the rest with the label of this seed's prompt draw.
        pure = json.loads((results / f"students/tfidf-logreg/llm/n14/seed{seed}/training.json").read_text())
        assert training["drawn_ids_hash"] == pure["drawn_ids_hash"]
        llm = pd.read_parquet(results / f"labels/llm~shots{draw}/pool.parquet").set_index("id")["label"]
        human_ids = set(draw_ids(pool_ids, 6, seed))
        labels = [human[i] if i in human_ids else llm[i] for i in draw_ids(pool_ids, 14, seed)]
        counts = pd.Series([label for label in labels if pd.notna(label)]).value_counts().to_dict()
        assert {k: v for k, v in training["label_counts"].items() if v} == counts
        assert human_ids <= set(draw_ids(pool_ids, 14, seed))


def test_few_shot_condition_spreads_over_prompt_draws(design_run):
    workdir, _ = design_run
    results = workdir / "results" / TASK
    for draw in DRAWS:
        record = json.loads((results / f"metrics/fewshot@llm~shots{draw}.json").read_text())
        assert record["condition"] == "fewshot@llm" and record["shots_seed"] == draw
    # The seed's student learns from its own draw: seed 1 from draw 0, seed 2 from draw 1.
    for seed, draw in zip(SEEDS, DRAWS, strict=True):
        record = json.loads((results / f"metrics/tfidf-logreg@llm/n14/seed{seed}.json").read_text())
        assert record["shots_seed"] == draw
    per_task = pd.read_csv(workdir / "results/tables/per_task.csv").set_index("condition")
    assert per_task.loc["fewshot@llm", "n_prompts"] == len(DRAWS)
    assert per_task.loc["fewshot@llm", "interval_covers"] == "test texts + prompts"
    assert per_task.loc["tfidf-logreg@llm:14", "interval_covers"] == "test texts + seeds + prompts"
    assert per_task.loc["tfidf-logreg@human:14", "interval_covers"] == "test texts + seeds"
    agreement = pd.read_csv(workdir / "results/tables/agreement.csv")
    assert set(agreement["labeler"]) == {f"llm~shots{draw}" for draw in DRAWS}


def test_label_budget_and_paper_tables(design_run):
    workdir, _ = design_run
    budget = pd.read_csv(workdir / "results/tables/label_budget.csv", dtype={"train_size": str})
    rows = budget[budget["task"] == TASK].set_index(["labeler", "train_size"])
    assert rows.loc[("human", "6"), "n_human_labels"] == 6
    assert rows.loc[("human", "14"), "dollars"] == pytest.approx(14 * 0.5)
    assert (rows.loc[("human6+llm", "14"), ["n_human_labels", "n_llm_labels"]] == [6, 8]).all()
    # The fake server states no price: the LLM's labels cost an unknown amount, never zero.
    assert pd.isna(rows.loc[("llm", "14"), "dollars"])
    per_task = pd.read_csv(workdir / "results/tables/per_task.csv").set_index("condition")
    assert rows.loc[("human", "14"), "f1_mean"] == pytest.approx(
        per_task.loc["tfidf-logreg@human:14", "f1_mean"]
    )
    paper = (workdir / "results/tables/paper.md").read_text()
    assert "tfidf-logreg@human:6 - tfidf-logreg@llm:14" in paper  # the paper's 250 vs 1,000
    assert "tfidf-logreg@human:14 - tfidf-logreg@llm:14" in paper
    assert "fewshot@llm - tfidf-logreg@llm:14" in paper
    assert (workdir / "results/tables/paper.tex").read_text().count("\\\\") >= 5
    for figure in ("label_budget", "label_budget_cost"):
        assert (workdir / f"results/figures/{figure}.png").stat().st_size > 10_000
