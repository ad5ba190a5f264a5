"""The cost estimate stage: what a configured API run would cost, what the cache already holds."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from fake_openai_server import FakeOpenAIServer

from labeldistill.contracts import SPLIT, write_table
from labeldistill.stages import estimate_cost
from labeldistill.teachers.openai.teacher import label_with_api
from labeldistill.teachers.prompts.few_shot import few_shot_examples
from labeldistill.teachers.prompts.token_count import token_counter
from labeldistill.teachers.settings import parse_labeler

LABELS = ["yes", "no"]
SIZES = {"pool": 10, "val": 4, "test": 6}


def write_task(root, name):
    """A task's three split files and its codebook; returns ({part: path}, task entry)."""
    parts = {}
    for part, n in SIZES.items():
        frame = pd.DataFrame(
            {
                "id": [f"{name}-{part}-{i}" for i in range(n)],
                "text": [f"{name} {part} text number {i} says {LABELS[i % 2]}" for i in range(n)],
                "label": [LABELS[i % 2] for i in range(n)],
            }
        )
        parts[part] = root / name / f"{part}.parquet"
        write_table(frame, parts[part], SPLIT)
    codebook = root / name / "codebook.md"
    codebook.write_text("Does the text say yes? yes: it does. no: it does not.\n")
    return parts, {"labels": LABELS, "codebook": str(codebook)}


@pytest.fixture()
def two_tasks(tmp_path):
    splits, tasks = {}, {}
    for name in ("alpha", "beta"):
        splits[name], tasks[name] = write_task(tmp_path / "data", name)
    return splits, tasks


def parsed(labelers: dict) -> dict:
    """The labelers' config blocks as their settings, as `estimate_cost.run` hands them on."""
    return {name: parse_labeler(name, block) for name, block in labelers.items()}


def test_every_text_and_sample_is_counted_and_priced(two_tasks, tmp_path):
    splits, tasks = two_tasks
    labelers = {
        "mini": {"backend": "openai", "model": "gpt-4o-mini", "samples": 3, "temperature": 0.7, "shots": 2},
        "house": {"backend": "openai", "model": "my-own-model", "base_url": "http://127.0.0.1:9/v1"},
    }
    frame = estimate_cost.estimate_rows(splits, tasks, parsed(labelers), tmp_path / "cache")
    texts = sum(SIZES.values())
    per_task = frame[frame["task"] != estimate_cost.TOTAL].set_index(["task", "labeler"])
    assert len(per_task) == 4
    assert per_task.loc[("alpha", "mini"), "requests"] == texts * 3
    assert per_task.loc[("alpha", "house"), "requests"] == texts
    assert per_task.loc[("alpha", "mini"), "dollars_max"] > 0
    assert math.isnan(per_task.loc[("alpha", "house"), "dollars_max"])  # no price known

    totals = frame[frame["task"] == estimate_cost.TOTAL].set_index("labeler")
    assert totals.loc["mini", "requests"] == 2 * texts * 3
    assert totals.loc["mini", "prompt_tokens"] == per_task.xs("mini", level="labeler")["prompt_tokens"].sum()
    assert totals.loc["mini", "dollars_max"] == pytest.approx(
        per_task.xs("mini", level="labeler")["dollars_max"].sum()
    )
    assert math.isnan(totals.loc["house", "dollars_max"])  # unknown, never silently zero


def test_answers_in_the_cache_are_not_counted_again(two_tasks, tmp_path):
    splits, tasks = two_tasks
    cache = tmp_path / "cache"
    with FakeOpenAIServer(latency=0.0) as server:
        block = {
            "backend": "openai",
            "model": "gpt-4o-mini",
            "base_url": server.base_url,
            "api_key_env": "",
            "shots": 2,
            "progress": False,
        }
        settings = parse_labeler("mini", block)
        test = pd.read_parquet(splits["alpha"]["test"])
        pool = pd.read_parquet(splits["alpha"]["pool"])
        codebook = open(tasks["alpha"]["codebook"]).read()
        examples = few_shot_examples(pool, settings, "mini")
        label_with_api(list(test["text"]), None, codebook, LABELS, examples, settings, cache, "mini")
    frame = estimate_cost.estimate_rows(splits, tasks, {"mini": settings}, cache).set_index("task")
    assert frame.loc["alpha", "cached_requests"] == SIZES["test"]
    assert frame.loc["alpha", "requests"] == sum(SIZES.values()) - SIZES["test"]
    assert frame.loc["beta", "cached_requests"] == 0


def test_long_texts_are_counted_as_they_would_be_sent(two_tasks, tmp_path):
    splits, tasks = two_tasks
    long = "word " * 5000
    test = pd.read_parquet(splits["alpha"]["test"]).assign(text=lambda f: [long, *f["text"][1:]])
    write_table(test, splits["alpha"]["test"], SPLIT)
    labelers = {
        name: {"backend": "openai", "model": "gpt-4o-mini", "max_text_tokens": limit}
        for name, limit in (("cut", 16), ("whole", 100_000))
    }
    frame = estimate_cost.estimate_rows(splits, tasks, parsed(labelers), tmp_path / "cache")
    per_task = frame.set_index(["task", "labeler"])
    assert per_task.loc[("alpha", "cut"), "truncated_texts"] == 1
    assert per_task.loc[("alpha", "whole"), "truncated_texts"] == 0
    assert per_task.loc[("beta", "cut"), "truncated_texts"] == 0
    assert per_task.loc[(estimate_cost.TOTAL, "cut"), "truncated_texts"] == 1
    # The cut text costs its first 16 tokens, not its 5,000.
    gap = per_task.loc[("alpha", "whole"), "prompt_tokens"] - per_task.loc[("alpha", "cut"), "prompt_tokens"]
    assert gap == token_counter("gpt-4o-mini").count(long.strip()) - 16 > 4000


def test_run_writes_the_table_in_three_formats(two_tasks, tmp_path):
    splits, tasks = two_tasks
    labelers = {"mini": {"backend": "openai", "model": "gpt-4o-mini"}}
    estimate_cost.run(splits, tasks, labelers, tmp_path / "tables", tmp_path / "cache")
    csv = pd.read_csv(tmp_path / "tables/cost_estimate.csv")
    assert list(csv["task"]) == ["alpha", "beta", estimate_cost.TOTAL]
    assert "Dollars (max)" in (tmp_path / "tables/cost_estimate.md").read_text()
    assert "Truncated texts" in (tmp_path / "tables/cost_estimate.md").read_text()
    assert "\\begin{tabular}" in (tmp_path / "tables/cost_estimate.tex").read_text()


def test_uncoded_texts_are_estimated_at_every_size_and_the_largest_is_paid(two_tasks, tmp_path):
    splits, tasks = two_tasks
    planned = pd.DataFrame(
        {
            "id": [f"u{i}" for i in range(30)],
            "text": [f"an uncoded text {i}" for i in range(30)],
            "label": None,
        }
    )
    write_table(planned, tmp_path / "uncoded.parquet", SPLIT)
    settings = parse_labeler("mini", {"backend": "openai", "model": "gpt-4o-mini", "shots": 2})
    uncoded = {"alpha": {"texts": tmp_path / "uncoded.parquet", "sizes": ["10", "all"]}}
    frame = estimate_cost.estimate_rows(splits, tasks, {"mini": settings}, None, uncoded)
    alpha = frame[frame["task"] == "alpha"].set_index("texts")
    assert alpha.loc[estimate_cost.CODED, "requests"] == sum(SIZES.values())
    assert alpha.loc["uncoded: first 10", "requests"] == 10
    assert alpha.loc["uncoded: first 30 (all)", "requests"] == 30
    assert alpha.loc["uncoded: first 10", "dollars_max"] < alpha.loc["uncoded: first 30 (all)", "dollars_max"]
    total = frame[frame["task"] == estimate_cost.TOTAL].iloc[0]
    # What the run pays: both tasks' coded parts and alpha's largest size, not every size.
    assert total["requests"] == 2 * sum(SIZES.values()) + 30
