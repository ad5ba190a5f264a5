"""The Batch API mode of the `openai` teacher (`api: batch`): the requests that the response cache
lacks go to OpenAI's /v1/files and /v1/batches as JSONL files, at batch prices, and their answers
fill the same response cache; the chat path (`ChatEngine.label`) then finds them there and
sends only what a batch could not answer.

A run (`BatchRun.run`):
1. Every request of the texts, built as the chat path builds it (cut to max_text_tokens, one per
   sample), is looked up in the cache. The custom_id of a batch line is the request's cache key.
2. Open batches of the ledger (teachers/openai/batch_ledger.py) at this endpoint that carry a missing
   key are waited for, never submitted again. An entry without a batch id (a job killed between
   the upload and the create) is first looked for among the provider's batches by its input
   file id, and created only if none has it.
3. The other missing requests are split at batch_max_requests and batch_max_bytes; each part is
   uploaded, written to the ledger, created, and its batch id written to the ledger before
   anything waits. A create that fails on the way (no answer, 429, 5xx) is looked for by its
   input file before it is tried again: it may have been made. Each request's worst case is
   booked against budget_usd at batch prices before it is submitted; what the budget does not
   cover is not submitted, and the run raises BudgetExceeded once the submitted batches are in.
4. All open batches are polled each round, the waits starting at batch_poll_seconds and
   doubling up to batch_poll_cap, until batch_deadline_hours; past it the job stops with one line
   (the batches go on at the provider and a rerun of the same command resumes waiting for them).
5. A finished batch: its answered lines are written to the cache (and booked at batch prices),
   then its ledger entry is closed. Lines that came back with an error (an HTTP error of the
   line, an unreadable answer, a line missing from the output) are left to the chat path, which
   sends them with its retries and reports what still fails as it reports any failure. Lines
   an expired batch did not run are submitted again, in a new batch (batch prices, the same
   deadline). A cancelled batch keeps its answers; the job stops with one line, and a rerun
   submits the rest. A failed batch (refused whole at validation: OpenAI's enqueued-token limit,
   a malformed file) stops the job with the provider's words; none of it was run or paid.

Calls that only read (retrieve, list, file content) use the openai client's own retries; a
poll that fails even so is logged and tried again at the next round. The API key lives in the
client's memory only and is scrubbed from every message.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import Counter
from collections.abc import Iterator, Sequence, Set
from dataclasses import asdict

from labeldistill.errors import LabelDistillError
from labeldistill.logs import job_name, progress_bar
from labeldistill.teachers.accounting import Accountant, BudgetExceeded, Usage, find_price
from labeldistill.teachers.openai.batch_ledger import BatchEntry, BatchLedger
from labeldistill.teachers.openai.chat import ChatEngine
from labeldistill.teachers.openai.protocol import server_message, trim_chat_completion
from labeldistill.teachers.openai.retry import backoff_delay, is_retryable_status

log = logging.getLogger(__name__)

CHAT_ENDPOINT = "/v1/chat/completions"
COMPLETION_WINDOW = "24h"  # the only window OpenAI offers
# Provider states in which a batch will change no more.
FINISHED = frozenset({"completed", "failed", "expired", "cancelled"})
# Uploading up to 200 MB, or reading an output file as large, takes longer than a chat request.
FILE_TIMEOUT_S = 600.0
# A batch whose create got no answer is looked for among batches made since its upload, less
# this much for clocks that differ between here and the provider.
CLOCK_SLACK_S = 3600.0
# At most this many batches are named in a message.
NAMED = 3


class BatchRun:
    """Sends what the cache lacks through the Batch API for one `ChatEngine` (its settings,
    cache, prompt and request building); see the module's docstring."""

    def __init__(self, teacher: ChatEngine, api_key: str, client=None):
        settings = teacher.settings
        self.teacher = teacher
        self.settings = settings
        self.labeler = teacher.labeler
        self.cache = teacher.cache
        self.ledger = BatchLedger(teacher.cache.root)
        self.server_url = teacher.server_url
        self._api_key = api_key
        self._client = client
        self.price = find_price(settings.model, settings.prices, batch=True)
        # The batch phase's own counts, added to the teacher's when it ends: the chat path's
        # budget then starts from what the batches cost.
        self.usage = Usage(labeler=teacher.labeler, task=teacher.usage.task, model=settings.model)
        self.accountant = Accountant(
            usage=self.usage,
            price=self.price,
            budget_usd=settings.budget_usd,
            cache_location=f"the response cache ({teacher.cache.root})",
            config_key=f"labelers.{teacher.labeler}.budget_usd",
        )
        self.fresh: set[str] = set()  # keys answered by a batch in this run
        self._payloads: dict[str, dict] = {}
        self._reserved: dict[str, float] = {}
        self._over_budget: BudgetExceeded | None = None
        self._stops: list[str] = []  # one line each: a failed or cancelled batch
        self._rng = random.Random()

    # -- the run -----------------------------------------------------------------------------

    def run(self, texts: Sequence[str]) -> Set[str]:
        """The cache keys answered by batches in this run (everything else the texts need is
        in the cache already, or is left to the chat path). Raises LabelDistillError past the
        deadline or for a failed or cancelled batch, BudgetExceeded when the budget did not
        cover everything; every answer received is in the cache either way."""
        started = time.perf_counter()
        try:
            self._run(texts)
        finally:
            self._add_usage(time.perf_counter() - started)
            if self._client is not None:
                self._client.close()
        return frozenset(self.fresh)

    def _run(self, texts: Sequence[str]) -> None:
        self._payloads = self.teacher.requests(texts)
        cached = self.cache.get_many(self._payloads)
        missing = [key for key in self._payloads if key not in cached]
        if not missing:
            return
        needed = set(missing)
        waiting = [entry for entry in self.ledger.open_entries(self.server_url) if needed & set(entry.keys)]
        carried = {key for entry in waiting for key in entry.keys} & needed
        new = [key for key in missing if key not in carried]
        log.info(
            "%s: %d requests not in the cache: %d in %d batches submitted before (resumed), %d to submit",
            self.labeler,
            len(missing),
            len(carried),
            len(waiting),
            len(new),
        )
        self._client = self._client or self._open_client()
        for entry in waiting:
            for key in entry.keys:
                if key in needed:
                    self._reserved[key] = self._book(key, committed=True)
            if entry.batch_id is None:
                self._create(entry, look_first=True)
        waiting += self._submit(new)
        self._wait(waiting)
        if self._stops:
            raise LabelDistillError(self._stops[0])
        if self._over_budget is not None:
            raise self._over_budget

    def _open_client(self):
        import openai

        try:  # openai 3 speaks httpx2, earlier versions httpx: the same API
            import httpx2 as httpx
        except ImportError:
            import httpx
        http_log = logging.getLogger(httpx.__name__)  # a line per request at INFO otherwise
        if http_log.level == logging.NOTSET:
            http_log.setLevel(logging.WARNING)
        return openai.OpenAI(
            api_key=self._api_key,
            base_url=self.settings.base_url,
            max_retries=self.settings.max_retries,
            timeout=self.settings.timeout,
        )

    # -- submitting --------------------------------------------------------------------------

    def _book(self, key: str, committed: bool = False) -> float:
        """Book a request's worst case at batch prices (`committed`: already submitted, so
        without asking the budget); raises BudgetExceeded."""
        if self.price is None:
            return 0.0
        tokens = self.teacher.estimated_input_tokens(self._payloads[key])
        if committed:
            return self.accountant.commit(tokens, self.settings.answer_tokens)
        return self.accountant.reserve(tokens, self.settings.answer_tokens)

    def _submit(self, keys: Sequence[str]) -> list[BatchEntry]:
        """Upload, record and create batches for `keys` (as many as the budget covers)."""
        affordable = []
        for key in keys:
            try:
                self._reserved[key] = self._book(key)
            except BudgetExceeded as error:
                self._over_budget = error
                unpaid = len(keys) - len(affordable)
                log.warning("%s: %d requests not submitted: the budget is spent", self.labeler, unpaid)
                break
            affordable.append(key)
        entries = []
        for part, data in self._parts(affordable):
            entry = self._upload(part, data)
            self._create(entry, look_first=False)
            entries.append(entry)
            self.usage.batches += 1
            self.usage.batch_requests += len(part)
            self.usage.requests_sent += len(part)
        return entries

    def _parts(self, keys: Sequence[str]) -> Iterator[tuple[list[str], bytes]]:
        """JSONL files of at most batch_max_requests lines and batch_max_bytes bytes."""
        most_lines, most_bytes = self.settings.batch_max_requests, self.settings.batch_max_bytes
        part: list[str] = []
        lines: list[bytes] = []
        size = 0
        for key in keys:
            line = batch_line(key, self._payloads[key])
            if len(line) > most_bytes:
                raise LabelDistillError(
                    f"config key labelers.{self.labeler}.batch_max_bytes: one request takes "
                    f"{len(line)} bytes, more than {most_bytes}; raise it (OpenAI allows 200 MB)"
                )
            if part and (len(part) == most_lines or size + len(line) > most_bytes):
                yield part, b"".join(lines)
                part, lines, size = [], [], 0
            part.append(key)
            lines.append(line)
            size += len(line)
        if part:
            yield part, b"".join(lines)

    def _upload(self, keys: list[str], data: bytes) -> BatchEntry:
        upload = self._call(
            "the batch input file",
            self._client.files.create,
            file=(f"labeldistill-{self.labeler}.jsonl", data),
            purpose="batch",
            timeout=max(self.settings.timeout, FILE_TIMEOUT_S),
        )
        entry = BatchEntry(
            input_file_id=upload.id,
            keys=keys,
            base_url=self.server_url,
            labeler=self.labeler,
            model=self.settings.model,
        )
        self.ledger.write(entry)  # before the batch exists: a kill from here on is recoverable
        return entry

    def _create(self, entry: BatchEntry, look_first: bool) -> None:
        """Create the batch of `entry` and record its id; never twice for one input file."""
        import openai

        creator = self._client.with_options(max_retries=0)  # a retry must look first
        batch, reason = None, ""
        for attempt in range(self.settings.max_retries + 1):
            if look_first or attempt > 0:
                batch = self._find(entry)
                if batch is not None:
                    log.info("%s: batch %s was created before: resumed", self.labeler, batch.id)
                    break
            try:
                batch = creator.batches.create(
                    input_file_id=entry.input_file_id,
                    endpoint=CHAT_ENDPOINT,
                    completion_window=COMPLETION_WINDOW,
                    metadata={"labeler": self.labeler, "made_by": "labeldistill"},
                )
                break
            except openai.APIStatusError as error:
                if not is_retryable_status(error.status_code):
                    raise self._refused("the batch", error) from None
                reason = f"HTTP {error.status_code}"
            except openai.APIConnectionError as error:
                reason = type(error).__name__
            if attempt < self.settings.max_retries:
                time.sleep(
                    backoff_delay(attempt, self.settings.backoff_base, self.settings.backoff_cap, self._rng)
                )
        if batch is None:
            raise LabelDistillError(
                f"labeler {self.labeler}: could not create a batch at {self.server_url} after "
                f"{self.settings.max_retries + 1} attempts ({reason}); its input file "
                f"{entry.input_file_id} is recorded in {self.ledger.root}: run the same command "
                "again to create it (nothing is paid twice)"
            )
        entry.batch_id, entry.status = batch.id, batch.status
        self.ledger.write(entry)
        log.info("%s: batch %s submitted with %d requests", self.labeler, batch.id, len(entry.keys))

    def _find(self, entry: BatchEntry):
        """The provider's batch made from `entry`'s input file, or None."""
        import openai

        oldest = entry.created - CLOCK_SLACK_S
        try:
            for batch in self._client.batches.list(limit=100):  # newest first, page by page
                if batch.input_file_id == entry.input_file_id:
                    return batch
                if batch.created_at < oldest:  # the rest is older still
                    return None
        except openai.APIStatusError as error:
            raise self._refused("the list of batches", error) from None
        except openai.APIConnectionError as error:
            raise self._unreachable("the list of batches", error) from None
        return None

    # -- waiting -----------------------------------------------------------------------------

    def _wait(self, entries: list[BatchEntry]) -> None:
        settings = self.settings
        deadline = time.monotonic() + settings.batch_deadline_hours * 3600
        pending = {entry.input_file_id: entry for entry in entries}
        done_lines: dict[str, int] = {}
        progress = progress_bar(
            total=sum(len(entry.keys) for entry in entries),
            desc=f"{job_name() or f'{self.usage.task} {self.labeler}'.strip()} (batches)",
            unit="request",
            disable=not settings.progress,
            leave=True,
        )
        delay = settings.batch_poll_seconds
        states: dict[str, str] = {}
        try:
            while pending:
                for name, entry in list(pending.items()):
                    batch = self._poll(entry)
                    if batch is None:
                        continue
                    counts = batch.request_counts
                    done_lines[name] = (counts.completed + counts.failed) if counts else 0
                    states[name] = f"{entry.batch_id} {batch.status} {done_lines[name]}/{len(entry.keys)}"
                    if batch.status != entry.status:
                        entry.status = batch.status
                        self.ledger.write(entry)
                    if batch.status in FINISHED:
                        del pending[name], states[name]
                        done_lines[name] = len(entry.keys)
                        again = self._collect(entry, batch)
                        for new in self._submit(again):
                            pending[new.input_file_id] = new
                            states[new.input_file_id] = f"{new.batch_id} {new.status} 0/{len(new.keys)}"
                            progress.total += len(new.keys)
                progress.n = sum(done_lines.values())
                progress.refresh()
                if not pending or self._stops:
                    return
                now = time.monotonic()
                if now >= deadline:
                    raise self._late(list(states.values()), len(pending))
                log.info(
                    "%s: %d batches waiting (%s); next check in %.3g s",
                    self.labeler,
                    len(pending),
                    "; ".join(list(states.values())[:NAMED]),
                    min(delay, deadline - now),
                )
                time.sleep(min(delay, deadline - now))
                delay = min(delay * 2, settings.batch_poll_cap)
        finally:
            progress.close()

    def _poll(self, entry: BatchEntry):
        """The provider's batch of `entry`, or None when it could not be read this round."""
        import openai

        try:
            return self._client.batches.retrieve(entry.batch_id)
        except openai.APIStatusError as error:
            if is_retryable_status(error.status_code):
                log.warning(
                    "%s: batch %s: HTTP %d; tried again later",
                    self.labeler,
                    entry.batch_id,
                    error.status_code,
                )
                return None
            if error.status_code == 404:
                raise LabelDistillError(
                    f"labeler {self.labeler}: the server at {self.server_url} does not know batch "
                    f"{entry.batch_id} of {self.ledger.root / entry.name} (HTTP 404: "
                    f"{self._message(error)}); with the key of the account that made it, run the "
                    "same command again; to submit its requests anew instead, delete that file"
                ) from None
            raise self._refused(f"the status of batch {entry.batch_id}", error) from None
        except openai.APIConnectionError as error:
            log.warning(
                "%s: batch %s: %s; tried again later", self.labeler, entry.batch_id, type(error).__name__
            )
            return None

    def _late(self, states: list[str], pending: int) -> LabelDistillError:
        named = "; ".join(states[:NAMED]) or "their status could not be read"
        if len(states) > NAMED:
            named += f"; and {len(states) - NAMED} more"
        return LabelDistillError(
            f"labeler {self.labeler}: {pending} {'batch' if pending == 1 else 'batches'} not finished after "
            f"{self.settings.batch_deadline_hours:g} h (labelers.{self.labeler}.batch_deadline_hours): "
            f"{named}; they go on at the provider and their ids are kept in {self.ledger.root}: "
            "run the same command again to resume waiting for them (nothing is submitted twice)"
        )

    # -- collecting --------------------------------------------------------------------------

    def _collect(self, entry: BatchEntry, batch) -> list[str]:
        """Write a finished batch's answers to the cache and close its entry; returns the keys
        to submit again (those an expired batch did not run)."""
        if batch.status == "failed":
            for key in entry.keys:
                self.accountant.release(self._reserved.pop(key, 0.0))
            self.ledger.close(entry)
            self._stops.append(self._failed(entry, batch))
            return []
        carried = set(entry.keys)
        answered, errors = set(), {}
        not_run = set()
        if batch.output_file_id:
            for record in self._records(batch.output_file_id):
                key = record.get("custom_id")
                response = record.get("response") or {}
                if response.get("status_code") != 200:
                    errors[key] = line_error(record)
                    continue
                try:
                    trimmed = trim_chat_completion(response.get("body"))
                except (KeyError, IndexError, TypeError):
                    errors[key] = "an unreadable answer in the batch output"
                    continue
                if key not in carried:
                    continue  # not one of this batch's lines
                self._store(key, trimmed, entry)
                answered.add(key)
        if batch.error_file_id:
            for record in self._records(batch.error_file_id):
                key = record.get("custom_id")
                if (record.get("error") or {}).get("code") == "batch_expired":
                    not_run.add(key)
                else:
                    errors[key] = line_error(record)
        for key in entry.keys:
            if key in answered or key in errors or key in not_run:
                continue
            if batch.status in ("expired", "cancelled"):
                not_run.add(key)
            else:
                errors[key] = "missing from the batch output"
        for key in entry.keys:
            if key not in answered:
                self.accountant.release(self._reserved.pop(key, 0.0))
        self.ledger.close(entry)  # only now: every answer is in the cache
        ours_failed = [key for key in entry.keys if key in errors and key in self._payloads]
        self.usage.batch_line_errors += len(ours_failed)
        ours_not_run = [key for key in entry.keys if key in not_run and key in self._payloads]
        log.info(
            "%s: batch %s %s: %d answered, %d with an error, %d not run",
            self.labeler,
            entry.batch_id,
            batch.status,
            len(answered),
            len([key for key in entry.keys if key in errors]),
            len([key for key in entry.keys if key in not_run]),
        )
        if ours_failed:
            common, times = Counter(errors[key] for key in ours_failed).most_common(1)[0]
            log.warning(
                "%s: %d requests of batch %s came back with an error (most common, %d times: %s); "
                "they are sent to the chat endpoint",
                self.labeler,
                len(ours_failed),
                entry.batch_id,
                times,
                self.teacher.redact(common),
            )
        if batch.status == "cancelled" and ours_not_run:
            self._stops.append(
                f"labeler {self.labeler}: batch {entry.batch_id} was cancelled at the provider: its "
                f"{len(answered)} answers are in the response cache and {len(ours_not_run)} of its "
                "requests were not run; run the same command again to submit them anew"
            )
            return []
        if ours_not_run:
            log.info(
                "%s: %d requests that batch %s did not run are submitted again",
                self.labeler,
                len(ours_not_run),
                entry.batch_id,
            )
        return ours_not_run

    def _store(self, key: str, response: dict, entry: BatchEntry) -> None:
        summary = {"model": self.settings.model, "labeler": self.labeler, "batch_id": entry.batch_id}
        self.cache.put(key, response, summary)
        usage = response["usage"]
        self.accountant.settle(
            self._reserved.pop(key, 0.0),
            usage["input_tokens"],
            usage["output_tokens"],
            usage.get("prompt_cache_tokens", 0),
            usage.get("reasoning_tokens", 0),
        )
        if key in self._payloads:
            self.fresh.add(key)

    def _records(self, file_id: str) -> Iterator[dict]:
        content = self._call(
            f"the batch file {file_id}",
            self._client.files.content,
            file_id,
            timeout=max(self.settings.timeout, FILE_TIMEOUT_S),
        ).content
        for number, raw in enumerate(content.splitlines(), 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                log.warning(
                    "%s: line %d of batch file %s is not JSON: ignored", self.labeler, number, file_id
                )
                continue
            if isinstance(record, dict):
                yield record

    def _failed(self, entry: BatchEntry, batch) -> str:
        problems = [
            f"{error.code}: {error.message}" + (f" (line {error.line})" if error.line else "")
            for error in ((batch.errors.data or []) if batch.errors else [])
        ]
        said = self.teacher.redact(" ".join("; ".join(problems).split())[:300]) or "no reason given"
        hint = ""
        if any("token_limit" in problem for problem in problems):
            hint = f" (fewer requests at once: lower labelers.{self.labeler}.batch_max_requests)"
        return (
            f"labeler {self.labeler}: the provider failed batch {entry.batch_id} ({said}); none of "
            f"its {len(entry.keys)} requests was run or paid; run the same command again to "
            f"submit them anew{hint}"
        )

    # -- errors and usage --------------------------------------------------------------------

    def _call(self, what: str, function, *args, **kwargs):
        """A call to the provider (with the client's own retries); one line when it fails."""
        import openai

        try:
            return function(*args, **kwargs)
        except openai.APIStatusError as error:
            raise self._refused(what, error) from None
        except openai.APIConnectionError as error:
            raise self._unreachable(what, error) from None

    def _unreachable(self, what: str, error) -> LabelDistillError:
        return LabelDistillError(
            f"labeler {self.labeler}: cannot reach {self.server_url} for {what} "
            f"({type(error).__name__}: {self.teacher.redact(str(error))}); batches submitted "
            f"so far are kept in {self.ledger.root}: check the network or "
            f"labelers.{self.labeler}.base_url, then run the same command again"
        )

    def _message(self, error) -> str:
        return self.teacher.redact(server_message(error.response.content))

    def _refused(self, what: str, error) -> LabelDistillError:
        hint = ""
        if error.status_code in (404, 405) and what == "the batch input file":
            hint = f"; a server without the Batch API needs labelers.{self.labeler}.api: sync"
        return LabelDistillError(
            f"labeler {self.labeler}: the server at {self.server_url} refused {what} with "
            f"HTTP {error.status_code}: {self._message(error)}{hint}"
        )

    def _add_usage(self, seconds: float) -> None:
        """Add the batch phase's counts to the teacher's usage (which the chat path goes on with)."""
        total, mine = self.teacher.usage, self.usage
        for name in (
            "requests_sent",
            "responses",
            "input_tokens",
            "output_tokens",
            "prompt_cache_tokens",
            "reasoning_tokens",
            "batches",
            "batch_requests",
            "batch_line_errors",
        ):
            setattr(total, name, getattr(total, name) + getattr(mine, name))
        if total.dollars is not None and mine.dollars is not None:
            total.dollars += mine.dollars
        total.wall_seconds += seconds
        total.batch_price = None if self.price is None else asdict(self.price)


def batch_line(key: str, payload: dict) -> bytes:
    """One line of a batch input file: the chat request, with its cache key as custom_id."""
    line = {"custom_id": key, "method": "POST", "url": CHAT_ENDPOINT, "body": payload}
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def line_error(record: dict) -> str:
    """What went wrong with one line of a batch, in a few words."""
    error = record.get("error") or {}
    response = record.get("response") or {}
    if error:
        return " ".join(f"{error.get('code') or 'error'}: {error.get('message') or ''}".split())[:300]
    body = response.get("body") or {}
    inner = body.get("error") if isinstance(body, dict) else None
    message = inner.get("message") if isinstance(inner, dict) else None
    return " ".join(f"HTTP {response.get('status_code')}: {message or '(no message)'}".split())[:300]
