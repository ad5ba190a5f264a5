"""Model families (teachers/openai/families.py) against the fake OpenAI server, which takes and
refuses parameters as OpenAI's models do (tests/fake_openai_server.py): every family and mode
labels or stops when the config is parsed, the bodies sent, reasoning that spends the whole
answer budget, and the prompt-cache and reasoning tokens counted and priced."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from fake_openai_server import FakeOpenAIServer
from labeler_settings import openai
from sentiment_texts import CODEBOOK, LABELS, make_texts, truth

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.accounting import Price, find_price
from labeldistill.teachers.chat.answers import MODES
from labeldistill.teachers.labelled_parts import check_failures
from labeldistill.teachers.openai.families import family_of, model_row
from labeldistill.teachers.openai.protocol import payload_key, request_payload
from labeldistill.teachers.openai.teacher import label_with_api
from labeldistill.teachers.prompts.chat import build_chat_prompt
from labeldistill.teachers.settings import check_labeler

MODELS = ["gpt-4o-mini", "gpt-4.1-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5.1", "gpt-5.2", "o3"]
# At its lowest effort (the default), a model that reasons gives no logprobs.
NO_LOGPROBS = {"gpt-5", "gpt-5-mini", "gpt-5-nano", "o3"}


@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer() as server:
        yield server


def block_for(server: FakeOpenAIServer, **extra) -> dict:
    return {
        "backend": "openai",
        "base_url": server.base_url,
        "api_key_env": "",
        "concurrency": 4,
        "max_retries": 0,
        "progress": False,
        **extra,
    }


def label(server, tmp_path, texts, **extra):
    settings = openai(**{key: value for key, value in block_for(server, **extra).items() if key != "backend"})
    return label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt", "demo")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("model", MODELS)
def test_every_family_and_mode_labels_or_stops_at_parse_with_one_line(server, tmp_path, model, mode):
    block = block_for(server, model=model, mode=mode)
    if mode == "logprobs" and model in NO_LOGPROBS:
        with pytest.raises(LabelDistillError) as refused:
            check_labeler("gpt", block)
        line = str(refused.value)
        assert "\n" not in line and line.startswith("config key labelers.gpt.mode: ")
        assert f"{model} (family" in line and "gives no logprobs" in line and "json_schema" in line
        return
    check_labeler("gpt", block)
    texts = make_texts(6, f"family-{model}-{mode}")
    results, usage = label(server, tmp_path, texts, model=model, mode=mode)
    assert [r.label for r in results] == [truth(text) for text in texts]
    assert usage.failed_texts == 0 and usage.responses == 6
    if mode == "logprobs":
        assert all(max(r.probabilities) == pytest.approx(0.7 / 0.9) for r in results)
    sent = results[0].provenance["settings"]
    family = family_of(model)
    assert sent["token_limit"] == family.token_limit and sent["reasoning_effort"] == family.lowest_effort()


@pytest.mark.parametrize(
    "model, extra, key",
    [
        ("gpt-5-mini", {"temperature": 0.0}, "temperature"),
        ("gpt-5-mini", {"temperature": 0.7, "samples": 5}, "temperature"),
        ("gpt-5.2", {"reasoning_effort": "low", "temperature": 0.0}, "temperature"),
        ("gpt-5.2", {"reasoning_effort": "low", "mode": "logprobs"}, "mode"),
        ("gpt-5.2", {"reasoning_effort": "minimal"}, "reasoning_effort"),
        ("gpt-5-mini", {"reasoning_effort": "none"}, "reasoning_effort"),
        ("gpt-4.1-mini", {"reasoning_effort": "low"}, "reasoning_effort"),
    ],
)
def test_a_setting_the_model_cannot_honour_is_one_line_naming_its_key(server, model, extra, key):
    with pytest.raises(LabelDistillError) as refused:
        check_labeler("gpt", block_for(server, model=model, **extra))
    line = str(refused.value)
    assert "\n" not in line and line.startswith(f"config key labelers.gpt.{key}: ")
    assert model in line


def test_what_the_model_takes_is_sent_as_set(server, tmp_path):
    # samples at a reasoning model's own temperature; a temperature of 1 is its default, so taken
    texts = make_texts(3, "own-temperature")
    results, usage = label(server, tmp_path, texts, model="gpt-5-mini", samples=5, temperature=1)
    assert usage.responses == 15 and all(r.n_samples == 5 for r in results)
    assert min(r.consistency for r in results) < 1  # the seeds of the samples make them differ
    # gpt-5.2 at reasoning_effort none reasons not at all: a temperature and logprobs, as a chat model
    results, _ = label(server, tmp_path, texts, model="gpt-5.2", mode="logprobs", temperature=0.0)
    assert [r.label for r in results] == [truth(text) for text in texts]


# The same text, as each family's request body.
TEXT = "the service was positive in every way"


def test_the_bodies_sent_for_the_same_text(server, tmp_path):
    bodies = {}
    for model in ("gpt-4.1-mini", "gpt-5-mini", "gpt-5.2"):
        results, _ = label(server, tmp_path / model, [TEXT], model=model)
        assert results[0].label == "positive"
        (body,) = [
            b
            for b in server.stats()["recent"]
            if b["model"] == model and b["messages"][-1]["content"] == TEXT
        ]
        bodies[model] = body
    messages = build_chat_prompt(CODEBOOK, LABELS, []).messages(TEXT)
    assert bodies == {
        # a chat model's body is the one sent before families existed (its cache keys hold)
        "gpt-4.1-mini": {"model": "gpt-4.1-mini", "messages": messages, "temperature": 0.0, "max_tokens": 20},
        "gpt-5-mini": {
            "model": "gpt-5-mini",
            "messages": messages,
            "max_completion_tokens": 2000,
            "reasoning_effort": "minimal",
        },
        "gpt-5.2": {
            "model": "gpt-5.2",
            "messages": messages,
            "temperature": 0.0,
            "max_completion_tokens": 20,
            "reasoning_effort": "none",
        },
    }


def test_the_effort_is_part_of_the_cache_key():
    messages = build_chat_prompt(CODEBOOK, LABELS, []).messages(TEXT)
    keys = {
        payload_key(
            request_payload(openai(model="gpt-5-mini", reasoning_effort=effort), LABELS, messages, 0), 0
        )
        for effort in ("minimal", "low", "medium", "high")
    }
    assert len(keys) == 4


def test_an_answer_cut_by_the_limit_is_a_failure_that_says_what_to_change(server, tmp_path):
    # The fake thinks 16 tokens at minimal effort: a limit of 10 leaves no room for the label.
    texts = make_texts(4, "cut")
    results, usage = label(server, tmp_path, texts, model="gpt-5-mini", max_tokens=10)
    assert all(r.label is None for r in results) and usage.failed_texts == 4
    error = results[0].error
    assert "limit (max_completion_tokens: 10, 10 of them spent reasoning)" in error
    assert error.endswith(
        "raise config key labelers.gpt.max_tokens (reasoning_effort minimal is the lowest gpt-5-mini takes)"
    )
    assert usage.reasoning_tokens == 40 and usage.output_tokens == 40  # paid all the same
    # The labeling job stops on such a part with one line that carries the fix.
    frame = pd.DataFrame({"label": [r.label for r in results], "error": [r.error for r in results]})
    with pytest.raises(LabelDistillError) as stopped:
        check_failures(frame, "gpt", openai(model="gpt-5-mini", max_tokens=10))
    assert "\n" not in str(stopped.value) and "4 of 4 texts failed" in str(stopped.value)
    assert "raise config key labelers.gpt.max_tokens" in str(stopped.value)
    # Above the lowest effort (64 tokens of thought at low), lowering it is the other way out.
    results, _ = label(server, tmp_path, texts, model="gpt-5-mini", max_tokens=50, reasoning_effort="low")
    assert results[0].error.endswith(
        "raise config key labelers.gpt.max_tokens or lower labelers.gpt.reasoning_effort (now low)"
    )
    # At high effort (1024 tokens of thought) the family's default budget of 2000 leaves room.
    results, usage = label(server, tmp_path, texts, model="gpt-5-mini", reasoning_effort="high")
    assert [r.label for r in results] == [truth(text) for text in texts]
    assert usage.reasoning_tokens == 4 * 1024


def test_prompt_cache_and_reasoning_tokens_are_counted_and_priced(tmp_path):
    texts = make_texts(6, "priced")
    messages = build_chat_prompt(CODEBOOK, LABELS, []).messages(texts[0])
    prefix = sum(len(m["content"]) for m in messages[:-1]) // 4
    with FakeOpenAIServer() as fresh:  # its prompt cache starts empty
        # one request at a time: the first fills the prompt cache, the other five read it
        results, usage = label(fresh, tmp_path, texts, model="gpt-5-mini", concurrency=1)
    assert [r.label for r in results] == [truth(text) for text in texts]
    assert usage.prompt_cache_tokens == 5 * prefix > 0
    assert usage.reasoning_tokens == 6 * 16 and usage.output_tokens == 6 * 17
    price = find_price("gpt-5-mini")
    assert price == Price(0.25, 2.00, 0.025)
    fresh_input = usage.input_tokens - usage.prompt_cache_tokens
    expected = (fresh_input * 0.25 + usage.prompt_cache_tokens * 0.025 + usage.output_tokens * 2.00) / 1e6
    assert usage.dollars == pytest.approx(expected)
    assert usage.dollars < price.cost(usage.input_tokens, usage.output_tokens)  # the cache paid off


def test_a_model_without_a_price_is_costed_in_tokens_with_one_warning(server, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="labeldistill"):
        _, usage = label(server, tmp_path, make_texts(2, "unpriced"), model="house-model")
    assert usage.dollars is None and usage.input_tokens > 0  # unknown, never $0
    warnings = [r.getMessage() for r in caplog.records if "no price known" in r.getMessage()]
    assert warnings == [
        "labelers.gpt: no price known for house-model: its cost is counted in tokens, its dollars left "
        "unknown; give one under labelers.gpt.prices"
    ]


def test_prices_come_from_the_table_and_a_labelers_prices_come_first():
    assert find_price("gpt-5-nano-2025-08-07") == Price(0.05, 0.40, 0.005)
    assert find_price("openai/gpt-5.2") == Price(1.75, 14.00, 0.175)  # a router's name
    assert find_price("gpt-4o-mini-2024-07-18") == Price(0.15, 0.60, 0.075)
    assert find_price("gpt-5.4") is None and model_row("gpt-5.4").family.name == "gpt-5.2"
    assert find_price("gpt-5-mini", batch=True) == Price(0.125, 1.00, 0.0125)
    own = {"gpt-5-mini": {"input_per_million": 1, "output_per_million": 2}}
    assert find_price("gpt-5-mini-2025-08-07", own) == Price(1.0, 2.0)  # no cached rate: as input
    assert Price(1.0, 2.0).cost(100, 10, prompt_cache_tokens=60) == pytest.approx(120 / 1e6)


def test_a_labeler_describes_a_model_the_table_does_not_know(server, tmp_path):
    family = {
        "token_limit": "max_completion_tokens",
        "temperature": False,
        "logprobs": False,
        "reasoning_efforts": ["low", "high"],
        "answer_tokens": 500,
    }
    settings = openai(model="house-reasoner", family=family)
    messages = build_chat_prompt(CODEBOOK, LABELS, []).messages(TEXT)
    assert request_payload(settings, LABELS, messages, 0) == {
        "model": "house-reasoner",
        "messages": messages,
        "max_completion_tokens": 500,
        "reasoning_effort": "low",
    }
    with pytest.raises(LabelDistillError, match=r"labelers.gpt.mode: house-reasoner .* gives no logprobs"):
        check_labeler("gpt", block_for(server, model="house-reasoner", family=family, mode="logprobs"))
    # and a model the table calls a reasoning model can be told it is not one
    chat = {"token_limit": "max_tokens", "temperature": True, "logprobs": True, "reasoning_efforts": []}
    assert request_payload(openai(model="gpt-5-mini", family=chat), LABELS, messages, 0) == {
        "model": "gpt-5-mini",
        "messages": messages,
        "temperature": 0.0,
        "max_tokens": 20,
    }


def test_a_reasoning_model_through_the_batch_api(tmp_path):
    texts = make_texts(6, "batched")
    batch = {"api": "batch", "batch_poll_seconds": 0.05, "batch_poll_cap": 0.2, "timeout": 5}
    with FakeOpenAIServer(batch_latency=0.1) as fresh:
        results, usage = label(fresh, tmp_path, texts, model="gpt-5-mini", **batch)
        lines = sum(entry["batch_answered"] for entry in fresh.stats()["requests"].values())
    assert [r.label for r in results] == [truth(text) for text in texts]
    assert lines == 6 and usage.batch_requests == 6 and usage.batch_line_errors == 0
    assert usage.reasoning_tokens == 6 * 16 and usage.prompt_cache_tokens > 0
    price = find_price("gpt-5-mini", batch=True)
    assert usage.dollars == pytest.approx(
        price.cost(usage.input_tokens, usage.output_tokens, usage.prompt_cache_tokens)
    )
