"""The `openai` teacher: any OpenAI-compatible chat endpoint (OpenAI, Azure, `vllm serve`,
llama.cpp's server, Ollama), asked asynchronously through the `openai` package.

Per text, `samples` requests are sent (each its own cache entry), parsed in the labeler's
answer mode (teachers/answers.py) and reduced to one label with its consistency
(teachers/consistency.py). All texts run at once under a concurrency limit; each answer is
written to the response cache the moment it arrives, so a killed run loses only what was in
flight and an identical request is never paid twice.

Retries are ours (the client's own are off) so that they are counted and honour Retry-After:
429, 5xx, timeouts, dropped connections and unreadable bodies are retried with exponential
backoff and full jitter; a request still failing after `max_retries` leaves its sample failed.
A request the server refuses for good (400, 401, 403, 404, 422, other 4xx) stops the whole run
at once with one line naming the labeler, the status and the server's message. The API key
lives in the client's memory only: it is scrubbed from every message this module writes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tqdm.auto import tqdm

from labeldistill.errors import LabelDistillError
from labeldistill.prompts import Example
from labeldistill.teachers.accounting import Accountant, CostEstimate, Usage, estimate_cost, find_price
from labeldistill.teachers.answers import SampleAnswer, json_schema_format, parse_answer
from labeldistill.teachers.chat_prompt import ChatPrompt, build_chat_prompt
from labeldistill.teachers.consistency import SampleOutcome, TextLabel, aggregate
from labeldistill.teachers.openai_settings import OpenAISettings, parse_settings, resolve_api_key
from labeldistill.teachers.rate_limit import RateLimiter
from labeldistill.teachers.response_cache import ResponseCache, request_key
from labeldistill.teachers.retry import backoff_delay, is_retryable_status, parse_retry_after
from labeldistill.teachers.token_count import token_counter

log = logging.getLogger(__name__)

BACKEND = "openai"
REDACTED = "***"
CHAT_PATH = "/chat/completions"


class _Retryable(Exception):
    """A failed attempt worth repeating; `delay` is the server's Retry-After, if it gave one."""

    def __init__(self, reason: str, delay: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


def trim_chat_completion(body: Mapping) -> dict:
    """What the cache keeps of a chat completion: enough to parse the label and account for it.

    Raises KeyError, IndexError or TypeError for a body that is not a chat completion.
    """
    choice = body["choices"][0]
    message = choice["message"]
    content = message.get("content")
    if content is None:
        content = message.get("refusal")
    first_token = ((choice.get("logprobs") or {}).get("content") or [None])[0]
    top = None
    if first_token is not None:
        top = [[entry["token"], entry["logprob"]] for entry in first_token.get("top_logprobs") or []]
    usage = body.get("usage") or {}
    return {
        "content": content,
        "top_logprobs": top,
        "finish_reason": choice.get("finish_reason"),
        "model": body.get("model"),
        "system_fingerprint": body.get("system_fingerprint"),
        "usage": {
            "input_tokens": int(usage.get("prompt_tokens") or 0),
            "output_tokens": int(usage.get("completion_tokens") or 0),
        },
    }


def request_payload(settings: OpenAISettings, labels: Sequence[str], messages: list[dict], sample: int) -> dict:
    """The JSON body of one chat request. Sample i of n > 1 gets seed (seed or 0) + i, so that
    servers honouring seeds (vLLM) give n different and reproducible samples."""
    payload: dict = {
        "model": settings.model,
        "messages": messages,
        "temperature": settings.temperature,
        "max_tokens": settings.answer_tokens,
    }
    if settings.mode == "logprobs":
        payload["logprobs"] = True
        payload["top_logprobs"] = settings.top_logprobs
    elif settings.mode == "json_schema":
        payload["response_format"] = json_schema_format(labels)
    if settings.samples > 1:
        payload["seed"] = (settings.seed or 0) + sample
    elif settings.seed is not None:
        payload["seed"] = settings.seed
    return payload


def payload_key(payload: dict, sample: int) -> str:
    sampling = {name: value for name, value in payload.items() if name not in ("model", "messages")}
    return request_key(BACKEND, payload["model"], payload["messages"], sampling, sample)


class OpenAITeacher:
    """Labels texts through one OpenAI-compatible endpoint; see `label_with_api` for settings."""

    backend = BACKEND

    def __init__(
        self,
        settings: OpenAISettings,
        labels: Sequence[str],
        prompt: ChatPrompt,
        cache: ResponseCache,
        api_key: str,
        labeler: str,
        task: str = "",
    ):
        self.settings = settings
        self.labels = [str(label) for label in labels]
        self.prompt = prompt
        self.cache = cache
        self.labeler = labeler
        self._api_key = api_key
        self._counter = token_counter(settings.model)
        self._prefix_tokens = self._counter.count_messages(prompt.prefix)
        self.accountant = Accountant(
            usage=Usage(labeler=labeler, task=task, model=settings.model),
            price=find_price(settings.model, settings.prices),
            budget_usd=settings.budget_usd,
            cache_location=f"the response cache ({cache.root})",
            config_key=f"labelers.{labeler}.budget_usd",
        )
        self._rng = random.Random()
        self._inflight: dict[str, asyncio.Task] = {}

    @property
    def usage(self) -> Usage:
        return self.accountant.usage

    @property
    def provenance(self) -> dict:
        return {
            "backend": self.backend,
            "model": self.settings.model,
            "base_url": self.settings.public_base_url(),
            "prompt_hash": self.prompt.hash,
            "settings": self.settings.answer_settings(),
        }

    def redact(self, text: str) -> str:
        """`text` without the API key: for every message that leaves this class."""
        return text.replace(self._api_key, REDACTED) if self._api_key else text

    # -- the run ---------------------------------------------------------------------------

    async def label(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[TextLabel]:
        """One TextLabel per text, in order. Raises LabelDistillError on a hard error or budget."""
        import httpx2
        from openai import AsyncOpenAI, DefaultAioHttpClient as DefaultAsyncHttpxClient

        ids = [str(i) for i in (ids if ids is not None else range(len(texts)))]
        if len(ids) != len(texts):
            raise LabelDistillError(f"{self.labeler}: {len(texts)} texts but {len(ids)} ids")
        settings = self.settings
        started = time.perf_counter()
        self._semaphore = asyncio.Semaphore(settings.concurrency)
        self._requests = RateLimiter(settings.requests_per_minute) if settings.requests_per_minute else None
        self._tokens = RateLimiter(settings.tokens_per_minute) if settings.tokens_per_minute else None
        # One client and one connection pool, sized to the concurrency: no request waits for a
        # connection, none is opened per request.
        http_client = DefaultAsyncHttpxClient(
            limits=httpx2.Limits(
                max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
            ),
            timeout=httpx2.Timeout(settings.timeout, connect=min(settings.timeout, 10.0)),
        )
        self._client = AsyncOpenAI(
            api_key=self._api_key,
            base_url=settings.base_url,
            max_retries=0,
            timeout=httpx2.Timeout(settings.timeout, connect=min(settings.timeout, 10.0)),
            http_client=http_client,
        )
        progress = tqdm(total=len(texts), desc=self.labeler, unit="text", disable=not settings.progress)
        provenance = self.provenance
        tasks = [
            asyncio.create_task(self._label_text(text_id, text, provenance, progress))
            for text_id, text in zip(ids, texts, strict=True)
        ]
        try:
            results = await asyncio.gather(*tasks)
        except BaseException:
            # A hard error or the budget: stop every other request now.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            progress.close()
            await self._client.close()
            self.usage.wall_seconds += time.perf_counter() - started
        self.usage.texts += len(results)
        self.usage.failed_texts += sum(result.label is None for result in results)
        self.usage.failed_samples += sum(result.n_failed_samples for result in results)
        return list(results)

    async def _label_text(self, text_id: str, text: str, provenance: dict, progress: tqdm) -> TextLabel:
        messages = self.prompt.messages(text)
        samples = await asyncio.gather(*(self._sample(messages, i) for i in range(self.settings.samples)))
        progress.update(1)
        return aggregate(text_id, samples, self.labels, provenance)

    async def _sample(self, messages: list[dict], sample: int) -> SampleOutcome:
        payload = request_payload(self.settings, self.labels, messages, sample)
        key = payload_key(payload, sample)
        response = self.cache.get(key)
        cached = response is not None
        if response is None:
            task = self._inflight.get(key)
            if task is None:
                task = asyncio.create_task(self._fetch(payload, key))
                self._inflight[key] = task
            else:
                cached = True  # the same request is already on its way: never pay for it twice
            response = await task
        if isinstance(response, str):  # gave up after retries: the reason
            return SampleOutcome(SampleAnswer(None, error=response))
        usage = response.get("usage") or {}
        input_tokens = int(usage.get("input_tokens") or 0)
        output_tokens = int(usage.get("output_tokens") or 0)
        if cached:
            self.accountant.cache_hit(input_tokens, output_tokens)
        return SampleOutcome(
            answer=parse_answer(self.settings.mode, response, self.labels),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached=cached,
            model=response.get("model"),
            system_fingerprint=response.get("system_fingerprint"),
        )

    # -- one request, with retries ---------------------------------------------------------

    async def _fetch(self, payload: dict, key: str) -> dict | str:
        """The trimmed response, cached as soon as it arrives; or, after the last retry, the
        reason it failed (a string)."""
        settings = self.settings
        estimated_input = self._prefix_tokens + self._counter.count(payload["messages"][-1]["content"])
        async with self._semaphore:
            reservation = self.accountant.reserve(estimated_input, settings.answer_tokens)
            try:
                for attempt in range(settings.max_retries + 1):
                    if self._requests is not None:
                        await self._requests.acquire(1)
                    if self._tokens is not None:
                        await self._tokens.acquire(estimated_input + settings.answer_tokens)
                    try:
                        response = await self._send(payload)
                    except _Retryable as failure:
                        if attempt == settings.max_retries:
                            self.usage.failed_requests += 1
                            self.accountant.release(reservation)
                            reason = f"gave up after {attempt + 1} attempts: {failure.reason}"
                            log.warning("%s: %s", self.labeler, reason)
                            return reason
                        delay = failure.delay
                        if delay is None:
                            delay = backoff_delay(attempt, settings.backoff_base, settings.backoff_cap, self._rng)
                        self.usage.retries += 1
                        log.debug("%s: %s; retry %d in %.2f s", self.labeler, failure.reason, attempt + 1, delay)
                        await asyncio.sleep(delay)
                        continue
                    usage = response["usage"]
                    self.accountant.settle(reservation, usage["input_tokens"], usage["output_tokens"])
                    self.cache.put(key, response, request={"model": payload["model"], "labeler": self.labeler})
                    return response
            except BaseException:
                self.accountant.release(reservation)
                raise
            finally:
                self._inflight.pop(key, None)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, payload: dict) -> dict:
        """One HTTP request; raises _Retryable or, for a hard error, LabelDistillError."""
        import httpx2
        import openai

        self.usage.requests_sent += 1
        try:
            # The client's generic POST: the body goes out exactly as built (fields only vLLM or
            # llama.cpp know pass through) and skips the typed create()'s per-request parameter
            # transformation, which cost about 5 ms of CPU per request.
            raw = await self._client.post(CHAT_PATH, body=payload, cast_to=httpx2.Response)
        except openai.APIStatusError as error:
            status = error.status_code
            message = self.redact(_server_message(error))
            if is_retryable_status(status):
                raise _Retryable(f"HTTP {status}: {message}", parse_retry_after(error.response.headers)) from None
            raise LabelDistillError(
                f"labeler {self.labeler}: the server at {self.settings.public_base_url() or 'api.openai.com'} "
                f"refused the request with HTTP {status}: {message}"
            ) from None
        except openai.APITimeoutError:
            raise _Retryable(f"no answer within {self.settings.timeout:g} s") from None
        except openai.APIConnectionError as error:
            cause = error.__cause__
            detail = type(cause).__name__ if cause is not None else "connection error"
            raise _Retryable(self.redact(f"connection failed ({detail})")) from None
        try:
            return trim_chat_completion(json.loads(raw.content))
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise _Retryable(f"unreadable response body ({type(error).__name__})") from None


def _server_message(error) -> str:
    """The server's own words from an error response, on one line."""
    body = error.body
    message = None
    if isinstance(body, Mapping):
        message = body.get("message") or body.get("detail") or body.get("error")
    if not message:
        message = getattr(error, "message", None) or str(error)
    return " ".join(str(message).split())[:500]


def label_with_api(
    texts: Sequence[str],
    ids: Sequence[str] | None,
    codebook: str,
    labels: Sequence[str],
    examples: Sequence[Example],
    settings: Mapping,
    cache_dir: str | Path | None = None,
    labeler: str = "openai",
    task: str = "",
) -> tuple[list[TextLabel], dict]:
    """Label `texts` through an OpenAI-compatible endpoint; returns (one TextLabel per text, in
    order; the run's usage as a JSON-serialisable dict).

    The prompt is built from `codebook`, `labels` and the few-shot `examples` (see
    teachers/chat_prompt.py). Answers are cached under `cache_dir` (default:
    $LABELDISTILL_CACHE or ~/.cache/labeldistill/responses), shared safely by concurrent runs.

    `settings` (one labeler's config entry; other keys are ignored), with defaults:
      model (required)          the model name the server knows, e.g. gpt-4o-mini
      base_url: None            OpenAI; e.g. http://127.0.0.1:8000/v1 for `vllm serve`
      api_key_env: OPENAI_API_KEY  name of the environment variable holding the key; a
                                server given by base_url gets a placeholder when it is unset
                                or when api_key_env is empty
      mode: text                text (strict match), logprobs (first-token probabilities;
                                labels must differ in their first token), json_schema
                                (structured output restricted to the labels)
      samples: 1, temperature: 0.0   n samples per text; label = mode, consistency = its share
      max_tokens: None          20 (text), 50 (json_schema), 1 (logprobs)
      top_logprobs: 20          logprobs mode only
      seed: None                sent to the server; sample i of n > 1 gets (seed or 0) + i
      concurrency: 8            requests in flight at once
      requests_per_minute: None, tokens_per_minute: None   client-side rate limits
      timeout: 60.0             seconds per request
      max_retries: 6            retries per request on 429, 5xx, timeouts, dropped connections
                                and unreadable bodies, with Retry-After honoured
      backoff_base: 1.0, backoff_cap: 60.0   full-jitter exponential backoff, seconds
      budget_usd: None          stop before a request could take the run past this
      prices: {}                {model: {input_per_million, output_per_million}}, over the
                                built-in table (teachers/accounting.py)
      progress: True            a progress bar over texts

    Each TextLabel has: id, label (one of `labels`, or None), probabilities (aligned with
    `labels`: vote shares, or with one sample in logprobs mode the token probabilities; [] for
    a failure), consistency, n_samples, n_failed_samples, error, raw (raw answers of failed
    samples), input_tokens, output_tokens, cache_hits, provenance (backend, model,
    model_reported, system_fingerprint, base_url, prompt_hash, settings).

    Raises LabelDistillError on a hard server error (bad key, unknown model, bad request) and
    BudgetExceeded before the budget could be exceeded; what was paid is in the cache.
    """
    parsed = parse_settings(settings, labeler)
    prompt = build_chat_prompt(codebook, labels, examples)
    teacher = OpenAITeacher(
        parsed,
        labels,
        prompt,
        ResponseCache(cache_dir),
        api_key=resolve_api_key(parsed, labeler),
        labeler=labeler,
        task=task,
    )
    log.info(
        "%s: %d texts x %d samples with %s at %s, mode %s, prompt %s",
        labeler,
        len(texts),
        parsed.samples,
        parsed.model,
        parsed.public_base_url() or "OpenAI",
        parsed.mode,
        prompt.hash,
    )
    try:
        results = asyncio.run(teacher.label(texts, ids))
    finally:
        log.info("%s usage: %s", labeler, json.dumps(teacher.usage.to_dict()))
    return results, teacher.usage.to_dict()


def estimate_api_cost(
    texts: Sequence[str],
    codebook: str,
    labels: Sequence[str],
    examples: Sequence[Example],
    settings: Mapping,
    cache_dir: str | Path | None = None,
    labeler: str = "openai",
) -> CostEstimate:
    """The most a run of `label_with_api` with these arguments could cost, before paying:
    prompt tokens counted with tiktoken where it knows the model (see `token_method`), every
    answer at max_tokens, requests already in the cache left out."""
    parsed = parse_settings(settings, labeler)
    prompt = build_chat_prompt(codebook, labels, examples)
    cache = ResponseCache(cache_dir)
    counter = token_counter(parsed.model)
    prefix_tokens = counter.count_messages(prompt.prefix)
    to_send: list[int] = []
    cached = 0
    for text in texts:
        messages = prompt.messages(text)
        tokens = prefix_tokens + counter.count(messages[-1]["content"])
        for sample in range(parsed.samples):
            if payload_key(request_payload(parsed, labels, messages, sample), sample) in cache:
                cached += 1
            else:
                to_send.append(tokens)
    return estimate_cost(
        parsed.model,
        to_send,
        parsed.answer_tokens,
        find_price(parsed.model, parsed.prices),
        counter.method,
        cached_requests=cached,
    )
