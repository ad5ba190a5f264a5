"""The uncoded path for real: 300 coded and 3,050 uncoded texts, an LLM on a real
OpenAI-compatible HTTP server (tests/fake_openai_server.py) labels the uncoded ones chunk by
chunk, stopped after the first chunk and resumed, and a student trains on its labels at two
sizes. Near-duplicates of coded texts planted in the uncoded file never reach training."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fake_openai_server import FakeOpenAIServer
from runner import REPO, planned_jobs, planned_outputs, snakemake, tiny_config, write_config

from labeldistill.contracts import LABELS, SPLIT, TRAINING, UNCODED_PLAN, read_record, read_table

pytestmark = pytest.mark.workflow

TASK = "reviews"
CHUNK = f"results/{TASK}/uncoded/labels/llm/{{}}.parquet"
MERGED = f"results/{TASK}/labels/llm/uncoded.parquet"
PLAN = f"results/{TASK}/uncoded/plan.json"
TWINS = 50
WORDS = ["service", "food", "room", "staff", "view", "price", "music", "bed", "wifi", "coffee"]


def review(i: int, rng: np.random.Generator) -> tuple[str, str]:
    """A short synthetic review whose label word the fake server finds (bad: 1 in 3)."""
    label = "bad" if rng.random() < 1 / 3 else "good"
    nouns = " and the ".join(rng.choice(WORDS, size=2, replace=False))
    return f"Visit {i}: the {nouns} felt {label} to us, {rng.choice(WORDS)} aside.", label


@pytest.fixture()
def uncoded_run(tmp_path):
    rng = np.random.default_rng(4)
    workdir = tmp_path / "run"
    (workdir / "data").mkdir(parents=True)
    coded = pd.DataFrame([(f"c{i}", *review(i, rng)) for i in range(300)], columns=["id", "text", "label"])
    coded.to_csv(workdir / "data" / "coded.csv", index=False)
    uncoded = pd.DataFrame([(f"u{i}", review(1000 + i, rng)[0]) for i in range(3000)], columns=["id", "body"])
    # Twins of coded texts after case, punctuation and a user handle are ignored.
    twins = pd.DataFrame(
        {
            "id": [f"twin{i}" for i in range(TWINS)],
            "body": [f"@guest -- {t.upper()}!!" for t in coded["text"][:TWINS]],
        }
    )
    pd.concat([uncoded, twins]).sample(frac=1, random_state=2).to_csv(
        workdir / "data" / "uncoded.csv", index=False
    )
    (workdir / "data" / "codebook.md").write_text(
        "Was the visit bad or good? bad: it was; good: it was not.\n"
    )
    server = FakeOpenAIServer(latency=0.0)
    server.__enter__()
    config = {
        "tasks": {
            TASK: {
                "texts": str(workdir / "data" / "coded.csv"),
                "codebook": str(workdir / "data" / "codebook.md"),
                "labels": ["bad", "good"],
                "positive_label": "bad",
                "uncoded": {"texts": str(workdir / "data" / "uncoded.csv"), "text_column": "body"},
            }
        },
        "split": {"seed": 3, "test": 100, "val": 50, "pool": 150},
        "labelers": {
            "llm": {
                "backend": "openai",
                "base_url": server.base_url,
                "model": "gpt-4o-mini",
                "api_key_env": "",
                "shots": 4,
                "concurrency": 8,
                "progress": False,
            }
        },
        "students": {"tfidf": {"kind": "tfidf-logreg"}},
        "seeds": [1],
        "train_size": 100,
        "uncoded": {"train_sizes": [500, "all"], "chunk_size": 1000},
        "evaluation": {"n_boot": 100},
        "cache_dir": str(workdir / "cache"),
    }
    write_config(workdir, config)
    try:
        yield workdir, server, coded
    finally:
        server.__exit__(None, None, None)


def answered(server) -> dict:
    """Per request body: how often the server answered it (a paid answer)."""
    return {body: entry["chat_answered"] for body, entry in server.stats()["requests"].items()}


def test_uncoded_texts_are_labelled_in_resumable_chunks_and_train_students(uncoded_run):
    workdir, server, coded = uncoded_run
    first = snakemake(workdir, "--cores", "2", CHUNK.format(0))  # as if stopped after chunk 0
    assert first.returncode == 0, first.stderr[-4000:]
    paid_first = answered(server)

    plan = snakemake(workdir, "--dry-run", MERGED)
    assert plan.returncode == 0, plan.stderr[-4000:]
    chunks = sorted(path for path in planned_outputs(plan.stdout) if "/uncoded/labels/" in path)
    # 3,050 rows in chunks of 1,000: 4 chunks; chunk 0 is not labelled again.
    assert chunks == [CHUNK.format(i) for i in (1, 2, 3)]

    done = snakemake(workdir, "--cores", "2")
    assert done.returncode == 0, done.stderr[-4000:]
    paid = answered(server)
    assert all(count == 1 for count in paid.values())  # no request answered twice
    assert set(paid_first) <= set(paid)

    record = read_record(workdir / PLAN, UNCODED_PLAN)
    assert record["rows"] == 3000 + TWINS and record["dropped_twins_of_coded"] == TWINS
    assert record["planned"] == 3000 and record["chunks"] == 4
    merged = read_table(workdir / MERGED, LABELS)
    assert len(merged) == 3000 and not merged["id"].str.startswith("twin").any()
    assert len(read_table(workdir / CHUNK.format(3), LABELS)) == 0  # the twins' chunk is empty

    # A student at each size, trained on uncoded texts only: none a coded text or its twin.
    for size, n in (("500", 500), ("all", 3000)):
        student = workdir / f"results/{TASK}/students/tfidf/llm~uncoded/n{size}/seed1"
        training = read_record(student / "training.json", TRAINING)
        assert training["n_drawn"] == n
        assert "uncoded/texts.parquet" in training["card"]["source"]
    texts = read_table(workdir / f"results/{TASK}/uncoded/texts.parquet", SPLIT)
    test_keys = {" ".join(t.casefold().split()) for t in coded["text"]}
    assert not any(" ".join(t.casefold().split()) in test_keys for t in texts["text"])

    # The tables carry the uncoded conditions and their comparison with human labels.
    gaps = pd.read_csv(workdir / "results/tables/gaps.csv")
    uncoded_gaps = gaps[gaps["comparison"].str.contains("uncoded")]
    assert {"tfidf@llm~uncoded:500", "tfidf@llm~uncoded:all"} <= set(uncoded_gaps["condition_b"])
    table = pd.read_csv(workdir / "results/tables/uncoded.csv")
    assert table.loc[0, "dropped_twins_of_coded"] == TWINS and table.loc[0, "planned"] == 3000
    cost = pd.read_csv(workdir / "results/tables/cost.csv")
    assert cost.loc[cost["labeler"] == "llm", "texts"].sum() == 300 + 3000

    # The same labels from a clean run: every answer from the response cache, none paid again.
    for path in (workdir / "results" / TASK / "uncoded" / "labels").rglob("*.parquet"):
        path.unlink()
    (workdir / MERGED).unlink()
    again = snakemake(workdir, "--cores", "2", MERGED)
    assert again.returncode == 0, again.stderr[-4000:]
    assert answered(server) == paid
    pd.testing.assert_frame_equal(
        read_table(workdir / MERGED, LABELS).drop(columns=["latency_s"], errors="ignore"),
        merged.drop(columns=["latency_s"], errors="ignore"),
    )
    usage = json.loads((workdir / f"results/{TASK}/usage/llm/uncoded/1.json").read_text())
    assert usage["requests_sent"] == 0 and usage["cache_hits"] == 1000


def test_a_larger_size_adds_chunks_and_relabels_none(uncoded_run):
    workdir, _, _ = uncoded_run
    config_path = workdir / "config.yaml"
    config = config_path.read_text().replace("- all", "- 1500")
    config_path.write_text(config)
    first = snakemake(workdir, "--cores", "2", MERGED)
    assert first.returncode == 0, first.stderr[-4000:]
    assert len(read_table(workdir / MERGED, LABELS)) == 1500
    config_path.write_text(config.replace("- 1500", "- 2500"))
    plan = snakemake(workdir, "--dry-run", MERGED)
    chunks = sorted(path for path in planned_outputs(plan.stdout) if "/uncoded/labels/" in path)
    assert chunks == [CHUNK.format(1), CHUNK.format(2)]  # chunk 0 stays; 1 grows from 500 to 1,000
    assert planned_jobs(plan.stdout)["annotate_uncoded"] == 2


def test_a_local_labeler_labels_uncoded_texts_with_its_tasks_calibration(tmp_path, local_model_dir):
    workdir = tmp_path / "local"
    config = tiny_config(workdir, local_model_dir.parent)
    task = "tweets_negative"
    config["tasks"] = {task: config["tasks"][task]}
    coded = pd.read_csv(config["tasks"][task]["texts"], dtype=str)
    every = pd.read_csv(REPO / "data" / task / "uncoded.csv", dtype=str, keep_default_na=False)
    # 30 uncoded tweets, and 5 coded ones the plan must drop.
    pd.concat(
        [every[~every["id"].isin(coded["id"])].head(30), every[every["id"].isin(coded["id"])].head(5)]
    ).to_csv(workdir / "uncoded.csv", index=False)
    config["tasks"][task]["uncoded"] = {"texts": str(workdir / "uncoded.csv")}
    config["students"] = {"tfidf-logreg": config["students"]["tfidf-logreg"]}
    config["uncoded"] = {"train_sizes": [20, "all"], "chunk_size": 40}
    write_config(workdir, config)
    student = f"results/{task}/students/tfidf-logreg/gemma~uncoded/nall/seed1"
    run = snakemake(workdir, "--cores", "2", student, f"results/{task}/uncoded/checks/gemma.json")
    assert run.returncode == 0, run.stderr[-4000:]
    labels = read_table(workdir / f"results/{task}/labels/gemma/uncoded.parquet", LABELS)
    pool = read_table(workdir / f"results/{task}/labels/gemma/pool.parquet", LABELS)
    assert len(labels) == 30 and labels["label"].notna().all()
    assert set(labels["prompt_hash"]) == set(pool["prompt_hash"])  # the same prompt as the parts
    assert all(abs(sum(p) - 1) < 1e-6 for p in labels["probabilities"])
    assert read_record(workdir / student / "training.json", TRAINING)["n_drawn"] == 30
