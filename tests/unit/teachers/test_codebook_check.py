"""The codebook check (codebook_check.py, stages/codebook_check*.py): the examples a codebook
quotes, the reorderings, flip rates with Wilson intervals against statsmodels, the verdicts, and
the stage against the fake OpenAI server, whose answers depend on the prompt's label order."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from fake_openai_server import FakeOpenAIServer
from statsmodels.stats.proportion import proportion_confint

from labeldistill.contracts import SPLIT, write_table
from labeldistill.stages import codebook_check, codebook_check_table
from labeldistill.tasks.sampling import draw_ids
from labeldistill.teachers.codebook_check import (
    check_table,
    flips,
    quoted_examples,
    reordered_examples,
    reordered_labels,
    verdict,
    wilson_interval,
)
from labeldistill.teachers.prompts.examples import Example

REPO = Path(__file__).resolve().parents[3]
LABELS = ["negative", "other"]


def pairs(examples):
    return [(e.text, e.label) for e in examples]


def test_the_demo_codebooks_quoted_examples():
    def found(task):
        return pairs(quoted_examples((REPO / f"data/{task}/codebook.md").read_text(), LABELS))

    assert found("tweets_negative") == [
        ("ugh", "negative"),
        ("smh", "negative"),
        ("wtf", "negative"),
        ("lol", "other"),
    ]
    assert found("movies_negative") == [
        ("good cast, but it drags and goes nowhere", "negative"),
        ("it drags at times, but rewards patience", "other"),
        ("watchable", "other"),
        ("harmless enough", "other"),
    ]
    assert found("nyt_negative") == [("the plan has flaws, but it deserves support", "other")]


def test_a_quote_counts_only_in_a_clause_naming_one_label():
    codebook = """# Protest

Label `protest` or `other`. A "march" could be either.

- Rallies: “we marched; they ran” is `protest`. Strikes
  ("the union walked out") are `Protest` too.
- Mentions of a "protest" alone are `other`; "a quiet day" is `other`.
"""
    assert pairs(quoted_examples(codebook, ["protest", "other"])) == [
        ("we marched; they ran", "protest"),  # a semicolon inside a quote cuts nothing
        ("the union walked out", "protest"),  # an item goes on over its indented lines
        ("a quiet day", "other"),  # a quoted label name is no example
    ]
    assert quoted_examples("No quotes, `other` here.", LABELS) == []


def test_reorderings_keep_the_examples_and_change_their_order():
    examples = [Example(f"text {i}", LABELS[i % 2]) for i in range(6)]
    moved = reordered_examples(examples, seed=1)
    assert moved != examples and sorted(pairs(moved)) == sorted(pairs(examples))
    assert moved == reordered_examples(examples, seed=1)
    assert reordered_examples(examples[:1], 1) is None and reordered_examples([], 1) is None
    assert reordered_labels(["a", "b", "c"]) == ["c", "b", "a"] and reordered_labels(["a"]) is None


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 50), (9, 50), (50, 50), (7, 13)])
def test_wilson_interval_equals_statsmodels(k, n):
    assert wilson_interval(k, n) == pytest.approx(proportion_confint(k, n, method="wilson"), abs=1e-12)


def test_flips_count_texts_both_prompts_labelled():
    result = flips(["a", "b", None, "a", "b"], ["a", "a", "b", None, "b"])
    assert (result["n"], result["n_flipped"], result["rate"]) == (3, 1, 1 / 3)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx(wilson_interval(1, 3))
    assert math.isnan(flips([None], ["a"])["rate"])


def record(**changes) -> dict:
    base = {
        "task": "t",
        "labeler": "gpt",
        "backend": "openai",
        "n_texts": 50,
        "valid_share": 1.0,
        "accuracy": 0.8,
        "n_quoted": 4,
        "n_quoted_correct": 4,
        "quoted_accuracy": 1.0,
        "examples_order": flips(["a"] * 50, ["a"] * 50),
        "label_order": flips(["a"] * 50, ["a"] * 47 + ["b"] * 3),
    }
    return {**base, **changes}


def test_verdicts_in_plain_words():
    assert verdict(record()) == "ok"
    assert verdict(record(n_quoted=0, n_quoted_correct=0, quoted_accuracy=None)) == (
        "ok (the codebook quotes no example)"
    )
    unstable = record(examples_order=flips(["a"] * 50, ["a"] * 41 + ["b"] * 9), valid_share=0.9)
    assert verdict(unstable) == (
        "invalid answers: 10% of answers are not a label; "
        "unstable: 18% of labels flip when the examples are reordered"
    )
    assert verdict(unstable, {"max_flip_rate": 0.2, "min_valid_share": 0.9}) == "ok"
    misread = record(n_quoted_correct=2, quoted_accuracy=0.5, label_order=None)
    assert verdict(misread) == "misreads its codebook: 2 of 4 quoted examples labelled otherwise"


def test_the_table_has_a_row_per_labeler_and_a_verdict(tmp_path):
    table = check_table([record(labeler="z"), record(labeler="a", label_order=None)])
    assert table["labeler"].tolist() == ["a", "z"]
    assert table["flip_label_order"].isna().tolist() == [True, False]
    assert table.loc[1, "flip_label_order"] == pytest.approx(0.06)
    assert table["verdict"].tolist() == ["ok", "ok"]


# ---- the stage, against a real HTTP server ------------------------------------------------
def write_split(path: Path, texts: list[str], tag: str) -> None:
    labels = [LABELS[i % 2] for i in range(len(texts))]
    write_table(
        pd.DataFrame({"id": [f"{tag}{i}" for i in range(len(texts))], "text": texts, "label": labels}),
        path,
        SPLIT,
    )


def test_the_check_of_an_api_labeler_against_the_fake_server(tmp_path):
    # The fake server answers the first label (in the prompt's order) that the text holds as a
    # word, else the last label: reversing the labels flips every text with neither or both.
    val_texts = [
        "so negative today",
        "nothing to see",
        "other things",
        "negative and other",
        "plain words",
        "more plain words",
        "negative vibes",
        "an other day",
        "still nothing",
        "rain again",
    ]
    write_split(tmp_path / "val.parquet", val_texts, "v")
    write_split(tmp_path / "pool.parquet", [f"pool text {i}" for i in range(8)], "p")
    codebook = (REPO / "data/tweets_negative/codebook.md").read_text()
    (tmp_path / "codebook.md").write_text(codebook)
    out = tmp_path / "check" / "gpt.json"
    with FakeOpenAIServer(latency=0.0) as server:
        settings = {
            "backend": "openai",
            "model": "m",
            "base_url": server.base_url,
            "shots": 4,
            "progress": False,
        }
        codebook_check.run(
            tmp_path / "val.parquet",
            tmp_path / "pool.parquet",
            tmp_path / "codebook.md",
            LABELS,
            "gpt",
            settings,
            out,
            texts=8,
            seed=2,
            task="demo",
            cache_dir=tmp_path / "cache",
        )
        sent = server.stats()["total"]
    result = json.loads(out.read_text())
    assert result["n_texts"] == 8 and result["valid_share"] == 1.0
    assert sent == 8 + 4 + 8 + 8  # three prompts; the quoted examples with the first only
    assert result["examples_order"]["n_flipped"] == 0  # the fake ignores the examples
    val = pd.read_parquet(tmp_path / "val.parquet")
    sampled = val[val["id"].isin(draw_ids(val["id"], 8, 2))]["text"]
    words = [set(re.findall(r"[\w-]+", text)) for text in sampled]
    expected = sum(("negative" in found) == ("other" in found) for found in words)
    assert (result["label_order"]["n"], result["label_order"]["n_flipped"]) == (8, expected)
    assert expected >= 4
    assert result["label_orders"]["label_order"] == ["other", "negative"]
    # ugh, smh and wtf hold no label word: the fake says "other"; lol is "other" rightly.
    assert result["n_quoted"] == 4 and result["n_quoted_correct"] == 1
    assert [q["answer"] for q in result["quoted"]] == ["other"] * 4
    assert len(set(result["prompt_hashes"].values())) == 3

    codebook_check_table.run([out], {}, tmp_path / "tables")
    table = pd.read_csv(tmp_path / "tables" / "codebook_check.csv")
    assert (
        table.loc[0, "verdict"].startswith("unstable: ") and "labels are reordered" in table.loc[0, "verdict"]
    )
    assert table.loc[0, "verdict"].endswith(
        "misreads its codebook: 3 of 4 quoted examples labelled otherwise"
    )
    assert "| Verdict" in (tmp_path / "tables" / "codebook_check.md").read_text()
