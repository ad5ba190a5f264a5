"""`ChatEngine`, the engine behind the `openai` teacher (teachers/openai/teacher.py): any
OpenAI-compatible chat endpoint (OpenAI, `vllm serve`, llama.cpp's server, Ollama), asked
asynchronously over one pooled HTTP client (teachers/openai/transport.py: aiohttp by default,
the openai package's AsyncOpenAI with `transport: openai`).

A text longer than `max_text_tokens` (counted as the cost estimate counts: tiktoken where it
knows the model) is cut to that many tokens before it is sent (teachers/prompts/truncation.py): the
cut text is what the cache keys on and what the budget and the estimate count.

Per text, `samples` requests are sent (each its own cache entry), parsed in the labeler's
answer mode (teachers/chat/answers.py) and reduced to one label with its consistency
(teachers/chat/consistency.py); an answer the length limit cut before it named a label (a
reasoning model can spend the whole budget thinking) fails with what to raise or lower. The
request's parameters come from the model's family (teachers/openai/families.py). All texts
run at once under a concurrency limit; each answer is written to the response cache the moment
it arrives, so a killed run loses only what was in flight and an identical request is never
paid twice.

Retries are ours (the client's own are off) so that they are counted and honour Retry-After:
429, 5xx, timeouts, dropped connections and unreadable bodies are retried with exponential
backoff and full jitter; a request still failing after `max_retries` leaves its sample failed.
A request the server refuses for good (400, 401, 403, 404, 422, other 4xx) stops the whole run
at once with one line naming the labeler, the status and the server's message; a 404 from a
base_url whose path does not end in /v1 names the URL with /v1, where most OpenAI-compatible
servers serve. The API key lives in the client's memory only: it is scrubbed from every message
this module writes.

A server that fails every request the same way after its retries (every one HTTP 500, every one
a timeout) stops the run too, once the first requests of the run have all failed that way
(retry.FirstWindow): a part of 300 texts would otherwise retry each of them in turn. The
requests after them wait until the first are decided, so nothing more is sent; one success, or
failures of two kinds, and the run goes on, its failed texts counted against max_failed_share.

A server that is not there stops the run too, rather than failing every text after its retries
(31 s a job for a closed port, then a labels file of nulls scored as F1 = 0; the probe ends the
job within 2 s, most of it Python's start-up, and writes nothing): before the first request,
one GET of `<base_url>/models` (PROBE_TIMEOUT_S) must get an HTTP answer, of any status but 401
and 403 (a bad key, a hard error; 404 is fine, not every server has /models). During the run,
UNREACHABLE_AFTER connection failures in a row with no HTTP answer between them (refused,
unknown host, no connection; not timeouts or dropped connections, which a busy server gives)
are checked with the same probe, and when it gets no answer either the run stops with one line.
What was answered until then is in the cache. A run whose texts are all in the cache sends
nothing, the probe included.

With `api: batch` the requests the cache lacks first go through OpenAI's Batch API at batch
prices (teachers/openai/batch.py); their answers land in the same cache, so the run described
above finds them there and sends only what a batch answered with an error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Sequence, Set
from urllib.parse import urlsplit

from tqdm import tqdm

from labeldistill.errors import LabelDistillError
from labeldistill.logs import job_name, progress_bar
from labeldistill.teachers.accounting import (
    Accountant,
    BudgetExceeded,
    Usage,
    find_price,
)
from labeldistill.teachers.chat.answers import (
    SampleAnswer,
    parse_answer,
)
from labeldistill.teachers.chat.consistency import SampleOutcome, aggregate
from labeldistill.teachers.chat.response_cache import ResponseCache, key_of
from labeldistill.teachers.openai.protocol import (
    BACKEND,
    REDACTED,
    payload_identity,
    payload_key,
    prompt_overhead_tokens,
    request_payload,
    server_message,
    trim_chat_completion,
)
from labeldistill.teachers.openai.rate_limit import RateLimiter
from labeldistill.teachers.openai.request_template import PLACEHOLDER, RequestTemplate, request_template
from labeldistill.teachers.openai.retry import (
    FirstWindow,
    backoff_delay,
    is_retryable_status,
    parse_retry_after,
)
from labeldistill.teachers.openai.settings import OpenAISettings
from labeldistill.teachers.openai.transport import HttpAnswer, TransportError, open_transport
from labeldistill.teachers.prompts.chat import ChatPrompt
from labeldistill.teachers.prompts.token_count import token_counter
from labeldistill.teachers.prompts.truncation import truncate_texts, warn_truncated
from labeldistill.teachers.result import TeacherLabel

log = logging.getLogger(__name__)

# Cache writes slower than this on average go to a worker thread.
SLOW_CACHE_WRITE_S = 0.002
# The reachability check: a GET of /models answers in milliseconds on any server that is up.
PROBE_TIMEOUT_S = 10.0
# Connection failures in a row (no HTTP answer between them) before the probe asks whether the
# server is still there: with 8 requests in flight a dead server gives 8 at once.
UNREACHABLE_AFTER = 3
# The least number of first requests that must all fail the same way before a run stops early:
# a few unlucky requests never stop a part.
FIRST_WINDOW = 8


class _Retryable(Exception):
    """A failed attempt worth repeating; `kind` names the way it failed without the server's
    words (HTTP 500, timeout), for the first window; `delay` is the server's Retry-After, if it
    gave one; `cannot_connect`: no connection was made (see transport.TransportError)."""

    def __init__(self, reason: str, kind: str, delay: float | None = None, cannot_connect: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.delay = delay
        self.cannot_connect = cannot_connect


class ChatEngine:
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
        self._prefix_tokens = prompt_overhead_tokens(self._counter, prompt)
        self.accountant = Accountant(
            usage=Usage(labeler=labeler, task=task, model=settings.model),
            price=find_price(settings.model, settings.prices),
            budget_usd=settings.budget_usd,
            cache_location=f"the response cache ({cache.root})",
            config_key=f"labelers.{labeler}.budget_usd",
        )
        self._rng = random.Random()
        self._inflight: dict[str, asyncio.Future] = {}
        self._answered: dict[str, dict] = {}  # answers received in this run, by cache key
        self._cache_write_seconds = 0.0  # running mean of an inline cache write
        self._over_budget: BudgetExceeded | None = None
        self._connect_failures = 0  # in a row, with no HTTP answer between them
        self._texts_done = 0
        self._fresh: Set[str] = frozenset()
        # Per sample, the body and key of any text spliced from one encoding (None: encoded whole).
        self._templates = [self._template(sample) for sample in range(settings.samples)]

    def _template(self, sample: int) -> RequestTemplate | None:
        messages = self.prompt.messages(PLACEHOLDER)
        if messages[-1]["content"] != PLACEHOLDER:
            return None
        payload = request_payload(self.settings, self.labels, messages, sample)
        return request_template(payload, payload_identity(payload, sample))

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
            "max_text_tokens": self.settings.max_text_tokens,
        }

    def redact(self, text: str) -> str:
        """`text` without the API key: for every message that leaves this class."""
        return text.replace(self._api_key, REDACTED) if self._api_key else text

    @property
    def server_url(self) -> str:
        """The endpoint as messages name it: never a key, nor a user:password part."""
        return self.settings.public_endpoint()

    def _refused(self, answer: HttpAnswer, what: str = "the request") -> LabelDistillError:
        message = self.redact(server_message(answer.body))
        return LabelDistillError(
            f"labeler {self.labeler}: the server at {self.server_url} refused {what} with "
            f"HTTP {answer.status}: {message}"
        )

    def _not_found(self, answer: HttpAnswer) -> LabelDistillError:
        """A 404 to the chat request: a base_url without its /v1, or no such model or path."""
        refused = self._refused(answer)
        key = f"labelers.{self.labeler}.base_url"
        url = self.settings.public_base_url()
        if url is not None and not urlsplit(url).path.rstrip("/").endswith("/v1"):
            return LabelDistillError(
                f"{refused}; most OpenAI-compatible servers serve under /v1: set config key {key} "
                f"to {url.rstrip('/')}/v1"
            )
        return LabelDistillError(
            f"{refused}; no such model or path: check config keys labelers.{self.labeler}.model and {key}"
        )

    def _stopped_early(self, reason: str) -> LabelDistillError:
        """One line for a server that failed every request of the first window the same way."""
        key = f"labelers.{self.labeler}.base_url"
        fix = f"check the server or {key}, then rerun" if self.settings.base_url else "rerun later"
        return LabelDistillError(
            f"labeler {self.labeler}: the first {self._window.size} requests to {self.server_url} all "
            f"failed the same way, after {self.settings.max_retries + 1} attempts each ({reason}); "
            "the part is stopped and nothing more was sent (answers received before are in the "
            f"response cache); {fix}"
        )

    def _unreachable(self, error: TransportError, texts: int | None = None) -> LabelDistillError:
        """One line for a server that cannot be reached: before the run, or (`texts`) during it."""
        key = f"labelers.{self.labeler}.base_url"
        fix = f"start the server or fix {key}" if self.settings.base_url else f"check the network or {key}"
        if texts is None:
            return LabelDistillError(
                f"labeler {self.labeler}: cannot reach {self.server_url} ({self.redact(str(error))}); "
                f"nothing was labelled; {fix}, then rerun"
            )
        return LabelDistillError(
            f"labeler {self.labeler}: lost {self.server_url} ({self.redact(str(error))}) after "
            f"{self._texts_done} of {texts} texts; their answers are in the response cache; "
            f"{fix}, then rerun"
        )

    async def _probe(self) -> None:
        """Raise TransportError unless `<base_url>/models` gives an HTTP answer; LabelDistillError
        for 401 or 403 (a bad key)."""
        answer = await self._transport.probe(min(self.settings.timeout, PROBE_TIMEOUT_S))
        self._connect_failures = 0
        if answer.status in (401, 403):
            raise self._refused(answer, "the API key")

    # -- the run ---------------------------------------------------------------------------

    async def label(
        self, texts: Sequence[str], ids: Sequence[str] | None = None, fresh: Set[str] = frozenset()
    ) -> list[TeacherLabel]:
        """One TeacherLabel per text, in order. Raises LabelDistillError on a hard error or budget.

        `fresh`: cache keys whose answers this run paid for already (through the Batch API, see
        teachers/openai/batch.py): found in the cache, but not counted as cache hits."""
        self._fresh = fresh
        ids = [str(i) for i in (ids if ids is not None else range(len(texts)))]
        if len(ids) != len(texts):
            raise LabelDistillError(f"{self.labeler}: {len(texts)} texts but {len(ids)} ids")
        settings = self.settings
        started = time.perf_counter()
        self._semaphore = asyncio.Semaphore(settings.concurrency)
        self._requests = RateLimiter(settings.requests_per_minute) if settings.requests_per_minute else None
        self._tokens = RateLimiter(settings.tokens_per_minute) if settings.tokens_per_minute else None
        provenance = self.provenance
        texts, truncated = truncate_texts(texts, settings.max_text_tokens, self._counter)
        self.usage.truncated_texts += truncated
        warn_truncated(self.labeler, truncated, len(texts), settings.max_text_tokens, self._counter.method)
        plans = [self._plan(text) for text in texts]
        # What the cache holds, looked up in one go off the event loop: on a shared file system
        # every lookup is a round trip to the file server.
        cached = await asyncio.to_thread(self.cache.get_many, {key for plan in plans for _, key in plan})
        results: list[TeacherLabel | None] = [None] * len(texts)
        waiting: list[int] = []
        for index, plan in enumerate(plans):
            if all(key in cached for _, key in plan):
                samples = [self._outcome(cached[key], cached=key not in fresh) for _, key in plan]
                results[index] = aggregate(ids[index], samples, self.labels, provenance, settings.seed)
            else:
                waiting.append(index)
        self._texts = len(texts)
        self._texts_done = len(texts) - len(waiting)
        # The first requests, watched for a server that fails them all the same way: at least
        # the concurrency, so that the whole first wave is judged together and a request after
        # it waits only where one of the wave has failed (see FirstWindow).
        unsent = {key for index in waiting for _, key in plans[index] if key not in cached}
        self._window = FirstWindow(min(len(unsent), max(FIRST_WINDOW, settings.concurrency)))
        self._probe_lock = asyncio.Lock()
        # One client and one connection pool for the run, a connection per concurrency slot.
        self._transport = open_transport(
            settings.transport, settings.base_url, self._api_key, settings.timeout, settings.concurrency
        )
        if waiting:
            try:
                await self._probe()
            except TransportError as error:
                await self._transport.close()
                raise self._unreachable(error) from None
            except BaseException:
                await self._transport.close()
                raise
        progress = progress_bar(
            total=len(texts),
            initial=len(texts) - len(waiting),
            desc=job_name() or f"{self.usage.task} {self.labeler}".strip(),  # the job names the part
            unit="text",
            disable=not settings.progress,
            leave=True,
        )
        # Texts go to `concurrency` workers rather than a task each: all texts are under way at
        # once all the same (the semaphore keeps `concurrency` requests in flight), without a
        # start-up burst of a task per text nor their memory on runs of 100,000 texts.
        pending = iter(waiting)

        async def worker() -> None:
            for index in pending:  # one shared iterator: each text goes to exactly one worker
                results[index] = await self._label_text(
                    ids[index], plans[index], cached, provenance, progress
                )

        tasks = [asyncio.create_task(worker()) for _ in range(min(len(waiting), settings.concurrency))]
        try:
            await asyncio.gather(*tasks)
            if self._over_budget is not None:
                raise self._over_budget
        except BaseException:
            # A hard error: stop every other request now.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            progress.close()
            await self._transport.close()
            self.usage.wall_seconds += time.perf_counter() - started
        self.usage.texts += len(results)
        self.usage.failed_texts += sum(result.label is None for result in results)
        self.usage.failed_samples += sum(result.n_failed_samples for result in results)
        return list(results)

    def requests(self, texts: Sequence[str]) -> dict[str, dict]:
        """Cache key -> request body of every sample of `texts`, as `label` would send them (cut
        to max_text_tokens), each distinct request once."""
        cut, _ = truncate_texts(texts, self.settings.max_text_tokens, self._counter)
        return {key: payload for text in cut for payload, key in self._plan(text)}

    def estimated_input_tokens(self, payload: dict) -> int:
        """Prompt tokens of a request as the budget counts them before it is sent."""
        return self._prefix_tokens + self._counter.count(payload["messages"][-1]["content"])

    def _plan(self, text: str) -> list[tuple[dict, str]]:
        """(request body, cache key) of each sample of one text, as it is sent (cut already)."""
        messages = self.prompt.messages(text)
        content = messages[-1]["content"]
        plan = []
        for sample, template in enumerate(self._templates):
            payload = request_payload(self.settings, self.labels, messages, sample)
            if template is None:
                key = payload_key(payload, sample)
            else:
                key = key_of(template.identity(content))
            plan.append((payload, key))
        return plan

    async def _label_text(
        self, text_id: str, plan: list[tuple[dict, str]], cached: dict, provenance: dict, progress: tqdm
    ) -> TeacherLabel:
        if len(plan) == 1:  # the common case, without the tasks gather would make
            payload, key = plan[0]
            samples = [await self._sample(payload, key, cached.get(key), 0)]
        else:
            samples = await asyncio.gather(
                *(self._sample(p, k, cached.get(k), i) for i, (p, k) in enumerate(plan))
            )
        progress.update(1)
        self._texts_done += 1
        return aggregate(text_id, samples, self.labels, provenance, self.settings.seed)

    async def _sample(self, payload: dict, key: str, response: dict | None, sample: int) -> SampleOutcome:
        if response is None:
            response = self._answered.get(key)
        if response is not None:
            return self._outcome(response, cached=key not in self._fresh)
        pending = self._inflight.get(key)
        if pending is not None:
            # The same request is already on its way: never pay for it twice.
            response = await asyncio.shield(pending)
            shared = True
        else:
            # The first asker sends it itself (no task of its own: a task per request costs
            # CPU at high rates) and shares the answer through a future.
            pending = asyncio.get_running_loop().create_future()
            self._inflight[key] = pending
            try:
                response = await self._fetch(payload, key, sample)
            except asyncio.CancelledError:
                pending.cancel()
                raise
            except BaseException as error:
                pending.set_exception(error)
                pending.exception()  # retrieved: asyncio need not warn if nobody else waited
                raise
            finally:
                del self._inflight[key]
            pending.set_result(response)
            shared = False
            if not isinstance(response, str):
                self._answered[key] = response  # a later text with the same request reuses it
        if isinstance(response, str):  # gave up after retries: the reason
            return SampleOutcome(SampleAnswer(None, error=response))
        return self._outcome(response, cached=shared)

    def _outcome(self, response: dict, cached: bool) -> SampleOutcome:
        usage = response.get("usage") or {}
        input_tokens = int(usage.get("input_tokens") or 0)
        output_tokens = int(usage.get("output_tokens") or 0)
        if cached:
            self.accountant.cache_hit(input_tokens, output_tokens)
        answer = parse_answer(self.settings.mode, response, self.labels)
        if answer.label is None and response.get("finish_reason") == "length":
            if self.settings.mode != "logprobs" or not (answer.raw or "").strip():  # one token by design
                answer = self._cut(answer, usage)
        return SampleOutcome(
            answer=answer,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached=cached,
            model=response.get("model"),
            system_fingerprint=response.get("system_fingerprint"),
        )

    def _cut(self, answer: SampleAnswer, usage: dict) -> SampleAnswer:
        """An answer the length limit cut before it named a label: a failure that says what to
        raise or lower (a reasoning model can spend the whole budget thinking, leaving no text)."""
        settings = self.settings
        key = f"labelers.{self.labeler}"
        limit = f"{settings.model_family.token_limit}: {settings.answer_tokens}"
        reasoning = int(usage.get("reasoning_tokens") or 0)
        spent = f", {reasoning} of them spent reasoning" if reasoning else ""
        lower = ""
        if settings.effort == settings.model_family.lowest_effort() and settings.effort is not None:
            lower = f" (reasoning_effort {settings.effort} is the lowest {settings.model} takes)"
        elif settings.effort is not None:
            lower = f" or lower {key}.reasoning_effort (now {settings.effort})"
        said = "no answer" if not (answer.raw or "").strip() else f"the answer {answer.raw!r} cut short"
        return SampleAnswer(
            None,
            raw=answer.raw,
            error=(
                f"{said}: the model reached its limit ({limit}{spent}) before a label; "
                f"raise config key {key}.max_tokens{lower}"
            ),
        )

    # -- one request, with retries ---------------------------------------------------------

    async def _fetch(self, payload: dict, key: str, sample: int) -> dict | str:
        """The trimmed response, cached as soon as it arrives; or, after the last retry, the
        reason it failed (a string). Raises LabelDistillError when this request is the last of
        a first window that all failed the same way."""
        async with self._semaphore:
            if self._over_budget is not None:
                return "not sent: the budget is spent"
            watched = await self._window.admit()
            if self._window.failure is not None:
                return "not sent: the first requests all failed"  # the run is stopping
            # An exception here stops the whole run: the requests waiting in admit go with it.
            result = await self._attempts(payload, key, sample)
            if not isinstance(result, _Retryable):
                if watched:
                    self._window.passed()
                return result
            reason = f"gave up after {self.settings.max_retries + 1} attempts: {result.reason}"
            # In the log only: the stage sums failures up in one line.
            log.info("%s: %s", self.labeler, reason)
            if watched and self._window.failed(result.kind, result.reason):
                raise self._stopped_early(result.reason)
            return reason

    async def _attempts(self, payload: dict, key: str, sample: int) -> dict | str | _Retryable:
        """`_fetch`'s request with its retries: the response, why it was not sent, or the last
        attempt's failure."""
        settings = self.settings
        # Counted here, not before the wait: thousands of queued texts would otherwise all
        # count their tokens before the first request goes out.
        estimated_input = self.estimated_input_tokens(payload)
        try:
            reservation = self.accountant.reserve(estimated_input, settings.answer_tokens)
        except BudgetExceeded as error:
            # Send nothing more, but let the requests in flight land in the cache: they are
            # paid for. The run raises once they are in.
            self._over_budget = error
            return "not sent: the budget is spent"
        try:
            for attempt in range(settings.max_retries + 1):
                if self._requests is not None:
                    await self._requests.acquire(1)
                if self._tokens is not None:
                    await self._tokens.acquire(estimated_input + settings.answer_tokens)
                try:
                    response = await self._send(payload, sample)
                except _Retryable as failure:
                    if failure.cannot_connect:
                        await self._still_there()
                    if attempt == settings.max_retries:
                        self.usage.failed_requests += 1
                        self.accountant.release(reservation)
                        return failure
                    delay = failure.delay
                    if delay is None:
                        delay = backoff_delay(attempt, settings.backoff_base, settings.backoff_cap, self._rng)
                    self.usage.retries += 1
                    log.debug("%s: %s; retry %d in %.2f s", self.labeler, failure.reason, attempt + 1, delay)
                    await asyncio.sleep(delay)
                    continue
                usage = response["usage"]
                self.accountant.settle(
                    reservation,
                    usage["input_tokens"],
                    usage["output_tokens"],
                    usage.get("prompt_cache_tokens", 0),
                    usage.get("reasoning_tokens", 0),
                )
                await self._store(key, response, {"model": payload["model"], "labeler": self.labeler})
                return response
        except BaseException:
            self.accountant.release(reservation)
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _still_there(self) -> None:
        """After a connection failure: stop the run (LabelDistillError) when UNREACHABLE_AFTER
        of them came in a row and the probe cannot reach the server either."""
        self._connect_failures += 1
        if self._connect_failures < UNREACHABLE_AFTER:
            return
        async with self._probe_lock:  # one probe at a time; the others wait for its verdict
            if self._connect_failures < UNREACHABLE_AFTER:
                return  # an answer came, or a probe got one, while this request waited
            try:
                await self._probe()
            except TransportError as error:
                log.info("%s: the probe got no answer either: %s", self.labeler, self.redact(str(error)))
                raise self._unreachable(error, self._texts) from None

    async def _store(self, key: str, response: dict, summary: dict) -> None:
        """Write an answer to the cache before it is used (so a kill loses only what is in flight).

        Inline while writes are quick (a local disk: a thread hop would cost more than the write);
        from a worker thread while they are slow (a network file system), so that the event loop
        does not wait on the file server. The choice follows the running mean of write times.
        """
        if self._cache_write_seconds > SLOW_CACHE_WRITE_S:
            await asyncio.to_thread(self._timed_put, key, response, summary)
        else:
            self._timed_put(key, response, summary)

    def _timed_put(self, key: str, response: dict, summary: dict) -> None:
        started = time.perf_counter()
        self.cache.put(key, response, summary)
        elapsed = time.perf_counter() - started
        self._cache_write_seconds = 0.9 * self._cache_write_seconds + 0.1 * elapsed

    async def _send(self, payload: dict, sample: int) -> dict:
        """One HTTP request; raises _Retryable or, for a hard error, LabelDistillError."""
        self.usage.requests_sent += 1
        template = self._templates[sample]
        body = None if template is None else template.body(payload["messages"][-1]["content"])
        try:
            answer = await self._transport.post(payload, body)
        except TransportError as error:
            raise _Retryable(
                self.redact(str(error)), error.kind, cannot_connect=error.cannot_connect
            ) from None
        self._connect_failures = 0
        if answer.status != 200:
            if is_retryable_status(answer.status):
                message = self.redact(server_message(answer.body))
                status = f"HTTP {answer.status}"
                raise _Retryable(f"{status}: {message}", status, parse_retry_after(answer.headers))
            if answer.status == 404:
                raise self._not_found(answer)
            raise self._refused(answer)
        try:
            return trim_chat_completion(json.loads(answer.body))
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise _Retryable(f"unreadable response body ({type(error).__name__})", "unreadable") from None
