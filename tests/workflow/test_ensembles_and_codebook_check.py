"""Ensemble labelers and the codebook check through the real workflow, against the fake
OpenAI-compatible server (tests/fake_openai_server.py): one labeler with three few-shot draws,
combined by majority vote and by Dawid-Skene; students learn from the ensembles, their few-shot
condition is scored, the agreement record holds the members' pairwise kappa; then the
on-demand `codebook_check` target writes its table for every prompt draw."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fake_openai_server import FakeOpenAIServer
from runner import REPO, snakemake, tiny_task, write_config

pytestmark = pytest.mark.workflow

TASK = "tweets_negative"
DRAWS = ["gpt~shots0", "gpt~shots1", "gpt~shots2"]


def test_ensembles_train_students_and_the_codebook_check_writes_its_table(tmp_path, monkeypatch):
    monkeypatch.setenv("LABELDISTILL_TEST_KEY", "sk-test")
    with FakeOpenAIServer(latency=0.0) as server:
        config = {
            "tasks": {TASK: tiny_task(REPO / "data" / TASK, tmp_path / "data" / TASK, seed=11)},
            "split": {"seed": 3, "test": 12, "val": 8, "pool": 16},
            "labelers": {
                # At temperature 0.7 the fake answers the truth 60% of the time, drawn per request:
                # the three prompts disagree on some texts.
                "gpt": {
                    "backend": "openai",
                    "base_url": server.base_url,
                    "model": "m",
                    "api_key_env": "LABELDISTILL_TEST_KEY",
                    "shots": 4,
                    "shots_seeds": [0, 1, 2],
                    "temperature": 0.7,
                    "seed": 1,
                    "concurrency": 2,
                    "progress": False,
                },
                "vote": {"backend": "ensemble", "members": ["gpt"]},
                "ds": {"backend": "ensemble", "members": ["gpt~shots0", "gpt~shots1", "gpt~shots2"]},
            },
            "students": {"tfidf-logreg": {"kind": "tfidf-logreg"}},
            "seeds": [1],
            "train_size": 14,
            "evaluation": {"n_boot": 200},
            "codebook_check": {"texts": 6},
            "cache_dir": str(tmp_path / "cache"),
            "models_dir": str(tmp_path / "models"),
        }
        config["labelers"]["ds"]["method"] = "dawid_skene"
        write_config(tmp_path, config)
        targets = [
            f"results/{TASK}/metrics/tfidf-logreg@vote/n14/seed1.json",
            f"results/{TASK}/metrics/fewshot@ds.json",
            f"results/{TASK}/agreement/vote.json",
            f"results/{TASK}/agreement/ds.json",
        ]
        run = snakemake(tmp_path, "--cores", "2", *targets)
        assert run.returncode == 0, run.stderr[-4000:]
        sent = server.stats()["total"]
        check = snakemake(tmp_path, "--cores", "2", "codebook_check")
        assert check.returncode == 0, check.stderr[-4000:]
        check_requests = server.stats()["total"] - sent

    results = tmp_path / "results" / TASK
    for ensemble in ("vote", "ds"):
        for part in ("pool", "val", "test"):
            labels = pd.read_parquet(results / "labels" / ensemble / f"{part}.parquet")
            assert labels["backend"].eq("ensemble").all() and labels["n_samples"].eq(3).all()
            assert labels["label"].notna().all()
        agreement = json.loads((results / "agreement" / f"{ensemble}.json").read_text())
        assert agreement["members"] == DRAWS and len(agreement["members_pairwise"]) == 3
        assert isinstance(agreement["members_pairwise_kappa"], float) and agreement["accuracy"] is not None
    # What the ensemble's labels cost: its members' requests, none of its own.
    usage = json.loads((results / "usage" / "vote" / "val.json").read_text())
    members = [json.loads((results / "usage" / d / "val.json").read_text()) for d in DRAWS]
    assert usage["requests_sent"] == sum(m["requests_sent"] for m in members) > 0
    assert usage["backend"] == "ensemble" and usage["members"] == DRAWS
    assert (
        json.loads((results / "metrics" / "tfidf-logreg@vote" / "n14" / "seed1.json").read_text())["n"] == 12
    )

    # Codebook check: 6 val texts and the codebook's 4 quoted examples with each prompt, 6 with
    # each of the two reordered ones; the original prompt's val answers are cached already.
    assert check_requests == 3 * (4 + 6 + 6)
    table = pd.read_csv(tmp_path / "results" / "tables" / "codebook_check.csv")
    assert table["labeler"].tolist() == DRAWS and table["n_texts"].eq(6).all()
    assert table["n_quoted"].eq(4).all() and table["valid_share"].eq(1.0).all()
    assert table["verdict"].str.len().gt(0).all()
