"""Few-shot example drawing and prompt building."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.prompts.completion import FewShotPrompt, build_prompt
from labeldistill.teachers.prompts.examples import Example, draw_examples


def make_pool(counts: dict[str, int]) -> pd.DataFrame:
    rows = [(f"{label}-{i}", f"text {i} of {label}", label) for label, n in counts.items() for i in range(n)]
    return pd.DataFrame(rows, columns=["id", "text", "label"])


POOL = make_pool({"a": 60, "b": 30, "c": 10})


def label_counts(examples: list[Example]) -> Counter:
    return Counter(example.label for example in examples)


def test_zero_shots_gives_no_examples():
    assert draw_examples(POOL, 0, seed=1) == []


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (1, {"a": 1}),
        (2, {"a": 1, "b": 1}),
        (3, {"a": 1, "b": 1, "c": 1}),
        # one each, then 7 in proportion 60:30:10 (4.2, 2.1, 0.7): the remainder goes to c
        (10, {"a": 5, "b": 3, "c": 2}),
    ],
)
def test_stratified_by_label(k, expected):
    assert dict(label_counts(draw_examples(POOL, k, seed=3))) == expected


def test_every_label_gets_one_when_k_allows_and_rare_labels_are_not_overdrawn():
    pool = make_pool({"a": 50, "b": 1, "c": 2})
    for k in range(3, 12):
        counts = label_counts(draw_examples(pool, k, seed=k))
        assert sum(counts.values()) == k
        assert counts["b"] == 1 and 1 <= counts["c"] <= 2


def test_deterministic_for_a_seed_and_independent_of_row_order():
    first = draw_examples(POOL, 6, seed=7)
    assert draw_examples(POOL, 6, seed=7) == first
    shuffled = POOL.sample(frac=1.0, random_state=1)
    assert draw_examples(shuffled, 6, seed=7) == first
    assert any(draw_examples(POOL, 6, seed=s) != first for s in range(8, 12))


def test_order_is_shuffled_not_grouped_by_label():
    orders = {tuple(e.label for e in draw_examples(POOL, 6, seed=s)) for s in range(10)}
    assert len(orders) > 1


def test_examples_come_from_the_pool():
    texts = set(POOL["text"])
    assert all(e.text in texts for e in draw_examples(POOL, 8, seed=0))
    assert len({e.text for e in draw_examples(POOL, 8, seed=0)}) == 8


def test_k_larger_than_pool_gives_whole_pool():
    pool = make_pool({"a": 2, "b": 1})
    assert len(draw_examples(pool, 10, seed=0)) == 3


def test_pool_without_label_column_is_an_error():
    with pytest.raises(LabelDistillError, match="label"):
        draw_examples(POOL.drop(columns="label"), 2, seed=0)


CODEBOOK = "# Negative tone\nDecide whether the tweet is negative.\n"


def test_prompt_layout():
    examples = [Example("I hate\nMondays", "negative"), Example("Lunch at noon", "other")]
    prompt = build_prompt(CODEBOOK, ["negative", "other"], examples)
    assert prompt.prefix == (
        "# Negative tone\nDecide whether the tweet is negative.\n\n"
        "Valid labels: negative, other\n\n"
        "Text: I hate Mondays\nLabel: negative\n\n"
        "Text: Lunch at noon\nLabel: other\n\n"
    )
    assert prompt.suffix("Rain  again\n\ntoday") == "Text: Rain again today\nLabel:"
    assert prompt.full("x") == prompt.prefix + "Text: x\nLabel:"


def test_suffix_keeps_braces_and_the_template_holds_text_field():
    prompt = build_prompt(CODEBOOK, ["negative", "other"], [])
    assert "{text}" in prompt.suffix_template
    assert prompt.suffix("a {text} and {0} b") == "Text: a {text} and {0} b\nLabel:"


def test_zero_shot_prompt_has_codebook_and_labels():
    prompt = build_prompt(CODEBOOK, ["negative", "other"], [])
    assert prompt.prefix.endswith("Valid labels: negative, other\n\n")


def test_hash_is_stable_and_follows_content():
    one = build_prompt(CODEBOOK, ["negative", "other"], [Example("x", "other")])
    same = build_prompt(CODEBOOK, ["negative", "other"], [Example("x", "other")])
    assert one.hash == same.hash and len(one.hash) == 16
    assert build_prompt(CODEBOOK + "More.", ["negative", "other"], []).hash != one.hash
    assert FewShotPrompt(one.prefix, "T: {text}\nL:").hash != one.hash


def test_example_with_unknown_label_is_an_error():
    with pytest.raises(LabelDistillError, match="'positive'"):
        build_prompt(CODEBOOK, ["negative", "other"], [Example("x", "positive")])


@pytest.mark.parametrize("labels", [[], ["a", "a"], ["a", ""], ["a\nb"]])
def test_bad_label_sets_are_errors(labels):
    with pytest.raises(LabelDistillError):
        build_prompt(CODEBOOK, labels, [])
