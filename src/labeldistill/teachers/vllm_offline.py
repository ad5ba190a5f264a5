"""The `vllm` backend: offline batched inference in-process on a GPU node.

Checked on GPU hardware only: vLLM cannot be installed on a CPU machine without pulling a CUDA
build of torch. So this module is kept small and shares everything else with the tested
`openai` backend: the chat prompt (chat_prompt), answer parsing (answers), consistency over
samples (consistency) and the response cache (response_cache). What is vLLM's own is building
`SamplingParams` and turning a `RequestOutput` into the same trimmed response dict that
`openai_api.trim_chat_completion` keeps, and both are plain functions that the tests run on
stand-in objects of the same shape.

Texts longer than `max_text_tokens` are cut before they are sent (teachers/truncation.py),
counted by the model's own tokenizer when transformers can load it (a small download the
engine makes anyway), else as the `openai` backend counts for a model tiktoken does not know.

Install with `pip install .[vllm]`; vLLM is imported only when a labeler uses this backend.
Its settings and their defaults are declared in `teachers.settings.VllmSettings` (`engine`: extra
`vllm.LLM` arguments; prefix caching is always on).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from labeldistill.errors import LabelDistillError
from labeldistill.prompts import Example
from labeldistill.teachers.answers import parse_answer
from labeldistill.teachers.chat_prompt import build_chat_prompt
from labeldistill.teachers.consistency import SampleOutcome, TextLabel, aggregate
from labeldistill.teachers.response_cache import ResponseCache, request_key
from labeldistill.teachers.settings import VllmSettings, parse_backend_settings
from labeldistill.teachers.token_count import TokenCounter, token_counter, tokenizer_counter
from labeldistill.teachers.truncation import truncate_texts, warn_truncated

log = logging.getLogger(__name__)

BACKEND = "vllm"


def sampling_settings(settings: Mapping, labels: Sequence[str], labeler: str) -> dict:
    """The answer-changing settings, checked: the cache key and the SamplingParams come from it."""
    return _sampling(parse_backend_settings(VllmSettings, settings, labeler), labels)


def _sampling(parsed: VllmSettings, labels: Sequence[str]) -> dict:
    return {
        "mode": parsed.mode,
        "n": parsed.samples,
        "temperature": float(parsed.temperature),
        "seed": parsed.seed,
        "max_tokens": parsed.answer_tokens,
        "logprobs": parsed.top_logprobs if parsed.mode == "logprobs" else None,
        "choice": list(labels) if parsed.mode == "choice" else None,
    }


def sampling_params(sampling: Mapping, vllm_module) -> object:
    """vLLM's SamplingParams for `sampling` (structured outputs for `choice`)."""
    kwargs = {
        "n": sampling["n"],
        "temperature": sampling["temperature"],
        "seed": sampling["seed"],
        "max_tokens": sampling["max_tokens"],
        "logprobs": sampling["logprobs"],
    }
    if sampling["choice"] is not None:
        from vllm.sampling_params import StructuredOutputsParams

        kwargs["structured_outputs"] = StructuredOutputsParams(choice=sampling["choice"])
    return vllm_module.SamplingParams(**kwargs)


def text_token_counter(model: str, engine: Mapping) -> TokenCounter:
    """The model's tokenizer (or the engine's `tokenizer`), else the fallback counter."""
    name = str(engine.get("tokenizer") or model)
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(
            name,
            revision=engine.get("tokenizer_revision") or engine.get("revision"),
            trust_remote_code=bool(engine.get("trust_remote_code", False)),
        )
    except Exception as error:  # transformers missing, offline, or not a tokenizer
        counter = token_counter(model)
        log.warning(
            "the tokenizer of %s cannot be loaded (%s): texts counted by %s", name, error, counter.method
        )
        return counter
    return tokenizer_counter(tokenizer, name)


def trimmed_response(request_output, sample: int, model: str) -> dict:
    """One sample of a vLLM RequestOutput as the cache keeps an OpenAI-style answer."""
    completion = request_output.outputs[sample]
    top = None
    if completion.logprobs:
        first = completion.logprobs[0]  # token id -> Logprob(logprob, rank, decoded_token)
        top = [[entry.decoded_token, entry.logprob] for entry in first.values()]
    return {
        "content": completion.text,
        "top_logprobs": top,
        "finish_reason": completion.finish_reason,
        "model": model,
        "system_fingerprint": None,
        "usage": {
            # The prompt is counted once per text, on its first sample.
            "input_tokens": len(request_output.prompt_token_ids or []) if sample == 0 else 0,
            "output_tokens": len(completion.token_ids),
        },
    }


def label_with_vllm(
    texts: Sequence[str],
    ids: Sequence[str],
    codebook: str,
    labels: Sequence[str],
    examples: Sequence[Example],
    settings: Mapping,
    cache_dir: str | Path | None = None,
    labeler: str = "vllm",
    task: str = "",
    generate=None,
    counter: TokenCounter | None = None,
) -> tuple[list[TextLabel], dict]:
    """Label texts with vLLM; answers already in the cache are never generated again.

    `generate(conversations, sampling) -> list[RequestOutput]` is vLLM's `LLM.chat` by default;
    `counter` cuts texts to `max_text_tokens` (default: `text_token_counter`).
    """
    started = time.perf_counter()
    model = str(settings.get("model") or "")
    if not model:
        raise LabelDistillError(f"config key labelers.{labeler}.model: required for the vllm backend")
    parsed = parse_backend_settings(VllmSettings, settings, labeler)
    sampling = _sampling(parsed, labels)
    prompt = build_chat_prompt(codebook, labels, examples)
    cache = ResponseCache(cache_dir)
    max_text_tokens = parsed.max_text_tokens
    counter = counter or text_token_counter(model, settings.get("engine") or {})
    texts, truncated = truncate_texts(texts, max_text_tokens, counter)
    warn_truncated(labeler, truncated, len(texts), max_text_tokens, counter.method)
    conversations = [prompt.messages(text) for text in texts]
    keys = [
        [request_key(BACKEND, model, messages, sampling, i) for i in range(sampling["n"])]
        for messages in conversations
    ]
    responses = [[cache.get(key) for key in text_keys] for text_keys in keys]
    todo = [i for i, found in enumerate(responses) if any(r is None for r in found)]
    cached = {(i, j) for i, found in enumerate(responses) for j, r in enumerate(found) if r is not None}
    if todo:
        generate = generate or _vllm_chat(model, sampling, settings.get("engine") or {})
        log.info(
            "%s: generating %d of %d texts (%d cached)",
            labeler,
            len(todo),
            len(texts),
            len(texts) - len(todo),
        )
        for i, output in zip(todo, generate([conversations[i] for i in todo], sampling), strict=True):
            for j in range(sampling["n"]):
                if responses[i][j] is None:
                    responses[i][j] = trimmed_response(output, j, model)
                    cache.put(keys[i][j], responses[i][j], {"model": model, "sampling": sampling})
    provenance = {
        "backend": BACKEND,
        "model": model,
        "prompt_hash": prompt.hash,
        "settings": sampling,
        "max_text_tokens": max_text_tokens,
    }
    results = []
    for i, text_id in enumerate(ids):
        outcomes = [
            SampleOutcome(
                answer=parse_answer(sampling["mode"], response, labels),
                input_tokens=response["usage"]["input_tokens"],
                output_tokens=response["usage"]["output_tokens"],
                cached=(i, j) in cached,
                model=response.get("model"),
            )
            for j, response in enumerate(responses[i])
        ]
        results.append(aggregate(str(text_id), outcomes, labels, provenance, sampling["seed"]))
    generated = [(i, j) for i in range(len(texts)) for j in range(sampling["n"]) if (i, j) not in cached]
    usage = {
        "model": model,
        "requests_sent": len(generated),
        "responses": len(generated),
        "cache_hits": len(cached),
        "input_tokens": sum(responses[i][j]["usage"]["input_tokens"] for i, j in generated),
        "output_tokens": sum(responses[i][j]["usage"]["output_tokens"] for i, j in generated),
        "failed_texts": sum(result.label is None for result in results),
        "truncated_texts": truncated,
        "dollars": 0.0,
        "wall_seconds": round(time.perf_counter() - started, 3),
    }
    return results, usage


def _vllm_chat(model: str, sampling: Mapping, engine: Mapping):
    try:
        import vllm
    except ImportError as error:
        raise LabelDistillError(
            f"the vllm backend needs vLLM on a GPU node: pip install '.[vllm]' ({error})"
        ) from error
    llm = vllm.LLM(model=model, enable_prefix_caching=True, **dict(engine))
    params = sampling_params(sampling, vllm)
    return lambda conversations, _sampling: llm.chat(conversations, params, use_tqdm=True)
