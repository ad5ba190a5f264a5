"""From answers to labels: strict parsing, logprobs, structured output, consistency."""

from __future__ import annotations

import math

import pytest

from labeldistill.teachers.chat.answers import (
    SampleAnswer,
    json_schema_format,
    label_probabilities,
    parse_answer,
    parse_json_answer,
    parse_logprob_answer,
    parse_text_answer,
)
from labeldistill.teachers.chat.consistency import SampleOutcome, aggregate
from labeldistill.teachers.prompts.chat import build_chat_prompt
from labeldistill.teachers.prompts.examples import Example

LABELS = ["positive", "negative", "neutral"]


@pytest.mark.parametrize("answer", ["positive", " Positive.", "POSITIVE!\n", '"positive"', "`positive`"])
def test_text_answers_that_name_one_label(answer):
    assert parse_text_answer(answer, LABELS).label == "positive"


@pytest.mark.parametrize(
    "answer", ["pos", "positive or negative", "The answer is positive", "maybe", "", None]
)
def test_other_text_answers_fail_and_keep_the_raw_text(answer):
    parsed = parse_text_answer(answer, LABELS)
    assert parsed.label is None and parsed.error and parsed.raw == answer


def test_json_answers():
    assert parse_json_answer('{"label": "neutral"}', LABELS).label == "neutral"
    for bad in ['{"label": "Neutral"}', '{"label": "maybe"}', "neutral", '{"x": 1}', "[1]"]:
        parsed = parse_json_answer(bad, LABELS)
        assert parsed.label is None and parsed.raw == bad
    schema = json_schema_format(LABELS)["json_schema"]["schema"]
    assert schema["properties"]["label"]["enum"] == LABELS and schema["required"] == ["label"]


def test_logprobs_sum_the_tokens_of_each_label_and_renormalise():
    top = [
        ["Pos", math.log(0.5)],
        ["positive", math.log(0.1)],
        ["neg", math.log(0.2)],
        ["The", math.log(0.2)],
    ]
    probabilities = label_probabilities(top, LABELS)
    assert probabilities == pytest.approx([0.75, 0.25, 0.0])
    parsed = parse_logprob_answer("Pos", top, LABELS)
    assert parsed.label == "positive" and parsed.probabilities == pytest.approx([0.75, 0.25, 0.0])
    # "ne" starts two labels: it counts for neither.
    assert label_probabilities([["ne", 0.0]], LABELS) is None
    # The sampled token names no label: the most probable label is the vote.
    assert parse_logprob_answer("The", top, LABELS).label == "positive"


def test_logprobs_without_any_label_token_fall_back_to_the_text():
    assert parse_logprob_answer("neutral", [["The", -0.1]], LABELS).label == "neutral"
    failed = parse_logprob_answer("maybe", [["maybe", -0.1]], LABELS)
    assert failed.label is None and failed.raw == "maybe"
    assert parse_answer("logprobs", {"content": "maybe", "top_logprobs": None}, LABELS).label is None


def test_chat_messages_carry_codebook_labels_examples_and_text():
    prompt = build_chat_prompt("Rate it.", LABELS, [Example("I love it", "positive")])
    messages = prompt.messages("What a\n day")
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert (
        "Rate it." in messages[0]["content"]
        and "Valid labels: positive, negative, neutral" in messages[0]["content"]
    )
    assert messages[2]["content"] == "positive" and messages[3]["content"] == "What a day"
    assert prompt.hash == build_chat_prompt("Rate it.", LABELS, [Example("I love it", "positive")]).hash
    assert prompt.hash != build_chat_prompt("Rate it!", LABELS, []).hash


def outcome(label, probabilities=None, raw=None):
    error = None if label else "not a label"
    return SampleOutcome(SampleAnswer(label, probabilities, raw, error), input_tokens=10, output_tokens=1)


def test_consistency_is_the_share_of_the_mode():
    samples = [
        outcome("negative"),
        outcome("positive"),
        outcome("negative"),
        outcome(None, raw="maybe"),
        outcome("neutral"),
    ]
    result = aggregate("t1", samples, LABELS)
    assert result.label == "negative" and result.consistency == 0.5
    assert result.probabilities == [0.25, 0.5, 0.25]
    assert (result.n_samples, result.n_failed_samples, result.raw) == (5, 1, ["maybe"])
    assert (result.input_tokens, result.output_tokens) == (50, 5)


def test_ties_go_to_one_of_the_tied_labels_and_lone_logprobs_are_kept():
    tie = aggregate("t", [outcome("neutral"), outcome("negative")], LABELS)
    assert tie.label in ("negative", "neutral") and tie.consistency == 0.5  # the draw: test_consistency
    lone = aggregate("t", [outcome("positive", [0.6, 0.3, 0.1])], LABELS)
    assert lone.probabilities == [0.6, 0.3, 0.1] and lone.consistency == 1.0


def test_a_text_whose_samples_all_failed_is_a_failure_with_its_answers():
    result = aggregate("t", [outcome(None, raw="maybe"), outcome(None, raw="dunno")], LABELS)
    assert result.label is None and result.probabilities == [] and result.consistency is None
    assert result.raw == ["maybe", "dunno"] and "all 2 samples failed" in result.error


def test_server_specific_restrictions_ask_for_the_label_set_and_parse_strictly():
    from labeldistill.teachers.openai.protocol import request_payload
    from labeldistill.teachers.settings import parse_labeler

    def openai(**settings):
        return parse_labeler("x", {"backend": "openai", **settings})

    messages = [{"role": "user", "content": "t"}]
    llama = request_payload(openai(model="m", mode="json_object"), ["a", "b"], messages, 0)
    assert llama["response_format"]["type"] == "json_object"
    assert llama["response_format"]["schema"]["properties"]["label"]["enum"] == ["a", "b"]
    vllm = request_payload(openai(model="m", mode="choice"), ["a", "b"], messages, 0)
    assert vllm["structured_outputs"] == {"choice": ["a", "b"]}
    assert parse_answer("json_object", {"content": '{"label": "b"}'}, ["a", "b"]).label == "b"
    assert parse_answer("choice", {"content": "a"}, ["a", "b"]).label == "a"
    assert parse_answer("choice", {"content": "c"}, ["a", "b"]).label is None
