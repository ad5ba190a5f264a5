"""The `openai` teacher: any OpenAI-compatible endpoint behind the Teacher interface.

The requests, retries, cache and accounting are `openai/teacher.label_with_api`'s (with
`api: batch`, the Batch API first: teachers/openai/batch.py); this adds what a labeler's
settings ask for around it: with `server:`, a server this job starts and stops
(teachers/openai/server.py), only when the response cache lacks an answer, so that a rerun
of labelled texts starts nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence, Set
from pathlib import Path

from labeldistill.teachers.accounting import (
    CostEstimate,
    Usage,
    estimate_cost,
    find_price,
)
from labeldistill.teachers.base import TaskContext
from labeldistill.teachers.chat.response_cache import ResponseCache
from labeldistill.teachers.chat.teacher import ChatTeacher
from labeldistill.teachers.openai.batch import BatchRun
from labeldistill.teachers.openai.chat import ChatEngine
from labeldistill.teachers.openai.protocol import payload_key, prompt_overhead_tokens, request_payload
from labeldistill.teachers.openai.settings import resolve_api_key
from labeldistill.teachers.prompts.chat import build_chat_prompt
from labeldistill.teachers.prompts.examples import Example
from labeldistill.teachers.prompts.token_count import token_counter
from labeldistill.teachers.prompts.truncation import truncate_texts
from labeldistill.teachers.result import TeacherLabel
from labeldistill.teachers.settings import OpenAISettings

log = logging.getLogger(__name__)


class OpenAIEndpointTeacher(ChatTeacher):
    """Labels through the endpoint of `settings` (see `label_with_api` for the settings);
    `server_log` is the log of a server it starts."""

    backend = "openai"

    def __init__(
        self,
        labeler: str,
        settings: OpenAISettings,
        task: TaskContext,
        examples: Sequence[Example] | None = None,
        cache_dir: Path | None = None,
        server_log: Path | None = None,
    ):
        super().__init__(labeler, settings, task, examples, cache_dir)
        self.server_log = server_log

    @property
    def provenance(self) -> dict:
        return {
            "backend": self.backend,
            "model": self.settings.model,
            "base_url": self.settings.public_base_url(),  # logged: never a password
            "prompt_hash": self.prompt_hash,
        }

    def label(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[TeacherLabel]:
        texts = list(texts)
        server = self.settings.server
        if server and self._requests_to_send(texts):
            from labeldistill.teachers.openai.server import managed_server

            with managed_server(
                server["command"],
                self.settings.base_url,
                self.server_log or Path(f"{self.labeler}-server.log"),
                startup_timeout=float(server.get("startup_timeout", 600)),
                config_key=f"labelers.{self.labeler}.server",
            ):
                results, self.usage = self._label(texts, ids)
        else:
            results, self.usage = self._label(texts, ids)
        return results

    def _requests_to_send(self, texts: list[str]) -> int:
        estimate = estimate_api_cost(
            texts, self.codebook, self.labels, self.examples, self.settings, self.cache_dir, self.labeler
        )
        return estimate.requests

    def _label(self, texts: list[str], ids: Sequence[str] | None) -> tuple[list[TeacherLabel], Usage]:
        return label_with_api(
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


def label_with_api(
    texts: Sequence[str],
    ids: Sequence[str] | None,
    codebook: str,
    labels: Sequence[str],
    examples: Sequence[Example],
    settings: OpenAISettings,
    cache_dir: str | Path | None = None,
    labeler: str = "openai",
    task: str = "",
) -> tuple[list[TeacherLabel], Usage]:
    """Label `texts` through an OpenAI-compatible endpoint; returns (one TeacherLabel per text, in
    order; the run's usage).

    The prompt is built from `codebook`, `labels` and the few-shot `examples` (see
    teachers/prompts/chat.py). Answers are cached under `cache_dir` (default:
    $LABELDISTILL_CACHE or ~/.cache/labeldistill/responses), shared safely by concurrent runs.

    `settings` is one labeler's `OpenAISettings` (`parse_labeler` of its config block): every
    setting, its default and what it does is declared once, in teachers/settings.py, and listed
    in config/README.md.

    Each TeacherLabel has: id, label (one of `labels`, or None), probabilities (aligned with
    `labels`: vote shares, or with one sample in logprobs mode the token probabilities; [] for
    a failure), consistency, n_samples, n_failed_samples, error, raw (raw answers of failed
    samples), input_tokens, output_tokens, cache_hits, provenance (backend, model,
    model_reported, system_fingerprint, base_url, prompt_hash, settings).

    Raises LabelDistillError on a hard server error (bad key, unknown model, bad request), a
    server that cannot be reached (before the first request or during the run) or one that
    failed the first requests all the same way after their retries (chat.py), and
    BudgetExceeded before the budget could be exceeded; what was paid is in the cache. With
    `api: batch` also when the batches are not done by batch_deadline_hours (a rerun resumes
    waiting for them) or the provider failed or cancelled one.
    """
    if settings.samples > 1 and settings.sent_temperature == 0:
        log.warning("labelers.%s: %d samples at temperature 0 will mostly agree", labeler, settings.samples)
    if find_price(settings.model, settings.prices) is None:
        log.warning(
            "labelers.%s: no price known for %s: its cost is counted in tokens, its dollars left unknown; "
            "give one under labelers.%s.prices",
            labeler,
            settings.model,
            labeler,
        )
    prompt = build_chat_prompt(codebook, labels, examples)
    api_key = resolve_api_key(settings, labeler)
    teacher = ChatEngine(
        settings,
        labels,
        prompt,
        ResponseCache(cache_dir),
        api_key=api_key,
        labeler=labeler,
        task=task,
    )
    log.info(
        "%s: %d texts x %d samples with %s at %s, mode %s, api %s, prompt %s",
        labeler,
        len(texts),
        settings.samples,
        settings.model,
        settings.public_base_url() or "OpenAI",
        settings.mode,
        settings.api,
        prompt.hash,
    )
    try:
        fresh: Set[str] = frozenset()
        if settings.api == "batch":
            # What the cache lacks goes through batches first; the chat path below then finds
            # their answers in the cache and sends only the lines a batch answered with an error.
            fresh = BatchRun(teacher, api_key).run(texts)
        results = asyncio.run(teacher.label(texts, ids, fresh))
    finally:
        log.info("%s usage: %s", labeler, json.dumps(teacher.usage.to_dict()))
    return results, teacher.usage


def estimate_api_cost(
    texts: Sequence[str],
    codebook: str,
    labels: Sequence[str],
    examples: Sequence[Example],
    settings: OpenAISettings,
    cache_dir: str | Path | None = None,
    labeler: str = "openai",
) -> CostEstimate:
    """The most a run of `label_with_api` with these arguments could cost, before paying:
    prompt tokens counted with tiktoken where it knows the model (see `token_method`) over the
    texts as they would be sent (cut to max_text_tokens), every answer at max_tokens, requests
    already in the cache left out; at batch prices for `api: batch`."""
    prompt = build_chat_prompt(codebook, labels, examples)
    cache = ResponseCache(cache_dir)
    counter = token_counter(settings.model)
    prefix_tokens = prompt_overhead_tokens(counter, prompt)
    texts, truncated = truncate_texts(texts, settings.max_text_tokens, counter)
    to_send: list[int] = []
    cached = 0
    for text in texts:
        messages = prompt.messages(text)
        tokens = prefix_tokens + counter.count(messages[-1]["content"])
        for sample in range(settings.samples):
            if payload_key(request_payload(settings, labels, messages, sample), sample) in cache:
                cached += 1
            else:
                to_send.append(tokens)
    return estimate_cost(
        settings.model,
        to_send,
        settings.answer_tokens,
        find_price(settings.model, settings.prices, batch=settings.api == "batch"),
        counter.method,
        cached_requests=cached,
        truncated_texts=truncated,
        api=settings.api,
    )
