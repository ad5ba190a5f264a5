"""The vllm backend's own parts: sampling settings, RequestOutput parsing, chat template, caching.

vLLM is not in the project's venv; here `generate` is given objects of the shape of vLLM's
RequestOutput / CompletionOutput / Logprob, and vLLM's own SamplingParams is checked where
the package can be imported. tests/vllm_cpu runs the backend on the real engine.
"""

import logging
from types import SimpleNamespace

import pytest

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.prompts.chat import (
    ANSWER_INSTRUCTION,
    FEW_SHOT_CHAT_TEMPLATE,
    build_chat_prompt,
)
from labeldistill.teachers.prompts.completion import build_prompt
from labeldistill.teachers.prompts.examples import Example
from labeldistill.teachers.prompts.truncation import truncate
from labeldistill.teachers.settings import VllmSettings, parse_labeler
from labeldistill.teachers.vllm import (
    chat_template,
    label_with_vllm,
    sampling_params,
    sampling_settings,
    template_hash,
    text_token_counter,
)

LABELS = ["negative", "other"]
EXAMPLES = [Example("awful day", "negative"), Example("nice day", "other")]


def vllm(**settings) -> VllmSettings:
    """A vllm labeler's settings, as a job parses its config block."""
    return parse_labeler("vllm", {"backend": "vllm", **settings})


def request_output(answers, logprobs=None, prompt_tokens=30):
    outputs = [
        SimpleNamespace(text=text, token_ids=[1], finish_reason="stop", logprobs=logprobs) for text in answers
    ]
    return SimpleNamespace(outputs=outputs, prompt_token_ids=list(range(prompt_tokens)))


class FakeEngine:
    """Answers like a model that reads 'bad' as negative; counts what it is asked."""

    def __init__(self, answers=None):
        self.calls = []
        self.texts = []
        self.answers = answers

    def __call__(self, conversations, sampling):
        self.calls.append(len(conversations))
        self.texts += [conversation[-1]["content"] for conversation in conversations]
        outs = []
        for conversation in conversations:
            text = conversation[-1]["content"]
            label = "negative" if "bad" in text else "other"
            outs.append(request_output(self.answers or [label] * sampling["n"]))
        return outs


def test_labels_cache_and_never_regenerate(tmp_path):
    engine = FakeEngine()
    texts, ids = ["a bad thing", "a good thing"], ["1", "2"]
    settings = vllm(model="m")
    results, usage = label_with_vllm(
        texts, ids, "codebook", LABELS, EXAMPLES, settings, tmp_path, generate=engine
    )
    assert [r.label for r in results] == ["negative", "other"]
    assert usage.requests_sent == 2 and usage.cache_hits == 0 and usage.input_tokens == 60
    again, usage = label_with_vllm(
        texts, ids, "codebook", LABELS, EXAMPLES, settings, tmp_path, generate=engine
    )
    assert engine.calls == [2] and usage.requests_sent == 0 and usage.cache_hits == 2
    assert [r.label for r in again] == ["negative", "other"]
    assert results[0].provenance["backend"] == "vllm" and results[0].provenance["prompt_hash"]


def test_samples_give_mode_consistency_and_vote_shares(tmp_path):
    engine = FakeEngine(answers=["negative", "negative", "other"])
    settings = vllm(model="m", samples=3, temperature=0.7)
    (result,), _ = label_with_vllm(["x"], ["1"], "cb", LABELS, EXAMPLES, settings, tmp_path, generate=engine)
    assert result.label == "negative" and result.consistency == pytest.approx(2 / 3)
    assert result.probabilities == pytest.approx([2 / 3, 1 / 3])


def test_answers_outside_the_labels_are_failures_with_the_raw_text(tmp_path):
    engine = FakeEngine(answers=["maybe"])
    settings = vllm(model="m", mode="text")
    (result,), usage = label_with_vllm(
        ["x"], ["1"], "cb", LABELS, EXAMPLES, settings, tmp_path, generate=engine
    )
    assert result.label is None and result.raw == ["maybe"] and usage.failed_texts == 1


def test_first_token_logprobs_become_label_probabilities(tmp_path):
    logprobs = [
        {
            7: SimpleNamespace(decoded_token="negative", logprob=-0.1, rank=1),
            9: SimpleNamespace(decoded_token="other", logprob=-2.4, rank=2),
        }
    ]

    def engine(conversations, sampling):
        assert sampling["logprobs"] == 20 and sampling["max_tokens"] == 1
        return [request_output(["negative"], logprobs) for _ in conversations]

    settings = vllm(model="m", mode="logprobs")
    (result,), _ = label_with_vllm(["x"], ["1"], "cb", LABELS, EXAMPLES, settings, tmp_path, generate=engine)
    assert result.label == "negative" and result.probabilities[0] > 0.85
    assert sum(result.probabilities) == pytest.approx(1.0)


def word_tokenizer(folder):
    """A model folder with a real transformers tokenizer of one token per word or punctuation
    mark: where its counts and tiktoken's differ, the cut shows which one counted."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(["unbelievably wonderful, a bad thing"], trainers.WordLevelTrainer())
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]").save_pretrained(folder)
    return folder


def test_long_texts_are_cut_by_the_models_tokenizer_and_cached_as_cut(tmp_path, caplog):
    model = str(word_tokenizer(tmp_path / "model"))
    engine = FakeEngine()
    texts, ids = ["unbelievably wonderful, " * 40 + "bad", "a bad thing"], ["1", "2"]
    settings = vllm(model=model, max_text_tokens=9)
    with caplog.at_level(logging.WARNING, logger="labeldistill"):
        results, usage = label_with_vllm(
            texts, ids, "cb", LABELS, EXAMPLES, settings, tmp_path / "cache", generate=engine
        )
    # Nine of its tokens: two words and a comma, three times (tiktoken needs more for "unbelievably").
    assert engine.texts == [
        "unbelievably wonderful, unbelievably wonderful, unbelievably wonderful,",
        "a bad thing",
    ]
    assert [r.label for r in results] == ["other", "negative"]  # "bad" was cut away
    assert usage.truncated_texts == 1 and results[0].provenance["max_text_tokens"] == 9
    assert [r.getMessage() for r in caplog.records if "max_text_tokens" in r.getMessage()] == [
        f"labeler vllm: 1 of 2 texts were longer than 9 tokens (counted by tokenizer of {model}) and "
        "were cut to their first 9 (labelers.vllm.max_text_tokens)"
    ]

    _, usage = label_with_vllm(
        texts, ids, "cb", LABELS, EXAMPLES, settings, tmp_path / "cache", generate=engine
    )
    assert engine.calls == [2] and usage.cache_hits == 2 and usage.truncated_texts == 1
    whole = vllm(model=model, max_text_tokens=1000)
    (long, _), usage = label_with_vllm(
        texts, ids, "cb", LABELS, EXAMPLES, whole, tmp_path / "cache", generate=engine
    )
    assert engine.calls == [2, 1] and long.label == "negative" and usage.truncated_texts == 0


def test_the_models_tokenizer_cuts_at_its_token_offsets(tmp_path):
    counter = text_token_counter(str(word_tokenizer(tmp_path / "model")), {})
    text = "a bad thing, unbelievably wonderful"
    assert [truncate(text, n, counter)[0] for n in (1, 3, 4, 6)] == [
        "a",
        "a bad thing",
        "a bad thing,",
        text,
    ]


def test_without_the_models_tokenizer_texts_are_counted_as_for_openai():
    counter = text_token_counter("no-such-model-anywhere", {})  # the hub is off in tests
    assert not counter.method.startswith("tokenizer of")


def test_bad_settings_name_the_config_key():
    with pytest.raises(LabelDistillError, match=r"labelers\.big\.mode"):
        parse_labeler("big", {"backend": "vllm", "model": "m", "mode": "json_schema"})
    with pytest.raises(LabelDistillError, match=r"labelers\.big\.samples"):
        parse_labeler("big", {"backend": "vllm", "model": "m", "samples": 0})


def test_sampling_params_with_vllms_own_types():
    vllm = pytest.importorskip("vllm", reason="vLLM is not in this venv (tests/vllm_cpu has it)")
    params = sampling_params(sampling_settings(vllm(model="m", samples=2), LABELS), vllm)
    assert params.n == 2 and params.structured_outputs.choice == LABELS


def test_the_few_shot_template_renders_the_completion_prompt(tmp_path):
    """What vLLM renders for a base model is the local backend's prompt, with the answer
    instruction after the valid labels (transformers renders it, as in vLLM)."""
    from transformers import AutoTokenizer

    folder = word_tokenizer(tmp_path / "model")
    tokenizer = AutoTokenizer.from_pretrained(folder, bos_token="<bos>")
    tokenizer.chat_template = FEW_SHOT_CHAT_TEMPLATE
    examples = EXAMPLES + [Example("a  multi\nline text", "other")]
    messages = build_chat_prompt("Is it negative?", LABELS, examples).messages("a bad\nthing")
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    labels_line = "Valid labels: negative, other\n\n"
    completion = build_prompt("Is it negative?", LABELS, examples).full("a bad\nthing")
    assert rendered == "<bos>" + completion.replace(labels_line, labels_line + ANSWER_INSTRUCTION + "\n\n")
    assert rendered.endswith("Text: a bad thing\nLabel:")


def test_a_model_without_a_chat_template_gets_the_few_shot_one():
    assert chat_template({}, SimpleNamespace(chat_template=None)) == FEW_SHOT_CHAT_TEMPLATE
    assert chat_template({}, SimpleNamespace(chat_template="{{ messages }}")) is None  # its own
    assert chat_template({}, None) is None  # tokenizer unknown: vLLM decides (and says)
    assert chat_template({"chat_template": "mine.jinja"}, None) == "mine.jinja"


def test_the_chat_template_is_part_of_the_cache_key(tmp_path):
    model = str(word_tokenizer(tmp_path / "model"))  # a tokenizer without a chat template
    engine = FakeEngine()
    settings = vllm(model=model)
    (result,), _ = label_with_vllm(
        ["a bad thing"], ["1"], "cb", LABELS, EXAMPLES, settings, tmp_path, generate=engine
    )
    assert result.provenance["chat_template"] == template_hash(FEW_SHOT_CHAT_TEMPLATE)
    label_with_vllm(["a bad thing"], ["1"], "cb", LABELS, EXAMPLES, settings, tmp_path, generate=engine)
    assert engine.calls == [1]
    mine = vllm(model=model, engine={"chat_template": "{{ messages[-1]['content'] }}"})
    (result,), _ = label_with_vllm(
        ["a bad thing"], ["1"], "cb", LABELS, EXAMPLES, mine, tmp_path, generate=engine
    )
    assert engine.calls == [1, 1] and result.provenance["chat_template"] == template_hash(
        "{{ messages[-1]['content'] }}"
    )
