"""A fault-injecting OpenAI-compatible HTTP server for tests and benchmarks.

An aiohttp server in its own process (so that its work never competes with the client's event
loop for the GIL) on 127.0.0.1 and a free port: `with FakeOpenAIServer(latency=0.05, fault_rate=0.3) as
server: ... server.base_url ...`. Also `python tests/fake_openai_server.py --help`.

Endpoints: GET /v1/models (unless `models=False`); POST /v1/chat/completions (logprobs,
top_logprobs, json_schema and json_object response_format, seed); GET /_stats and POST /_epoch
for tests.

Model families as OpenAI's API has them (teachers/openai/families.py describes the same): a
`gpt-5*` or `o1`... model is a reasoning model. It answers HTTP 400 with OpenAI's error bodies
to `max_tokens` (use max_completion_tokens), to a reasoning_effort it does not take (gpt-5,
-mini, -nano: minimal, low, medium, high; gpt-5.1: none, low, medium, high; gpt-5.2 and later:
none, low, medium, high, xhigh; o-series: low, medium, high) and to a temperature other than 1,
except gpt-5.1 and later at reasoning_effort none, which samples and gives logprobs as a chat
model does. Otherwise it gives no logprobs and spends REASONING_TOKENS[effort] completion
tokens thinking before its one answer token (medium where no effort is sent; none for gpt-5.1
and later): a limit below that answers empty content with finish_reason "length". Every answer's
usage has completion_tokens_details.reasoning_tokens and prompt_tokens_details.cached_tokens:
the prefix (every message but the last, characters / 4) once a request with the same model and
prefix came before (OpenAI's prompt cache, without its 1,024-token minimum).

The truth: the valid labels are read from the system message's "Valid labels: a, b" line; the
answer is the first label that occurs as a word in the last user message, else the last label.
At temperature > 0 the answer is the truth with probability 0.6, else another label, drawn from
the request body (so the seed per sample makes samples differ, reproducibly); a reasoning model
(above) draws so where the request has a seed.

Faults are drawn per (request body, attempt number) from a hash with `seed`, so a run is
reproducible and a retry can succeed: 429 with Retry-After, 500, 503, timeout (no answer for
`hang` seconds, then the connection is closed), reset (the socket is closed with RST), truncated
(a 200 whose JSON body is cut short), outside (a well-formed answer outside the label set: a
paid answer). A text may also carry a directive: "[[429 retry-after=1]]" answers its first
attempt with 429 and that Retry-After header; "[[no faults]]" answers every attempt without a
fault, whatever the fault rate.

A request with a Bearer key other than `api_key` (when set) gets 401, with a message that
echoes the key given, as OpenAI's does (on /v1/models too): the client must keep it out of
every message.

With `die_after` N the server answers N chat requests and then exits, as a crashed server does:
requests in flight lose their connection and later ones are refused.

The Batch API too: POST /v1/files (multipart upload, taking `upload_latency` seconds), GET
/v1/files/{id} and /v1/files/{id}/content, POST /v1/batches, GET /v1/batches (newest first,
`after`, `limit`), GET /v1/batches/{id}, POST /v1/batches/{id}/cancel. A batch is validated
(its lines, and the server's limits `batch_max_requests` and `batch_max_bytes`), in progress
for `batch_latency` seconds, then done; its state advances when it is read. Lines are answered
as chat requests are. Faults, by the number of the batch created (0, 1, ...; comma-separated
lists): `batch_fail` (fails validation), `batch_expire` (expires with the first half of its
lines answered, the rest in the error file as batch_expired), `batch_drop_create` (created,
then the connection is reset, so the client cannot know its id); and per line,
`batch_line_error_rate` (an HTTP 500 in the error file, drawn per custom_id and submission).

/_stats gives the last RECENT chat request bodies as received ("recent"); per sha256 of a
request body: attempts, successes (answers that parse: paid), per epoch, the time of every
attempt, and the faults given; the batches made; and per request
(sha256 of its canonical JSON body, the same for a chat request and a batch line) how often it
was submitted in a batch and answered in a batch or by the chat endpoint: a request answered
twice was paid twice.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import json
import logging
import math
import os
import re
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from fnmatch import fnmatchcase

FAULTS = ("429", "500", "503", "timeout", "reset", "truncated", "outside")
OUTSIDE_LABEL = "maybe"
DIRECTIVE = re.compile(r"\[\[429 retry-after=([0-9.]+)\]\]")
NO_FAULTS = "[[no faults]]"
RECENT = 16  # chat request bodies /_stats shows, as received


def unit_draw(*parts: object) -> float:
    """A number in [0, 1) fixed by its arguments."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


# Completion tokens a reasoning model thinks for, by effort.
REASONING_TOKENS = {"none": 0, "minimal": 16, "low": 64, "medium": 256, "high": 1024, "xhigh": 4096}


def model_name(request: dict) -> str:
    return str(request.get("model") or "").rsplit("/", 1)[-1].casefold()


def efforts_of(name: str) -> tuple[str, ...]:
    """The reasoning efforts a model takes, the one it uses when none is sent first; () for a
    chat model."""
    if fnmatchcase(name, "gpt-5.[2-9]*"):
        return ("none", "low", "medium", "high", "xhigh")
    if fnmatchcase(name, "gpt-5.1*"):
        return ("none", "low", "medium", "high")
    if fnmatchcase(name, "gpt-5*"):
        return ("medium", "minimal", "low", "high")
    if fnmatchcase(name, "o[1-9]*"):
        return ("medium", "low", "high")
    return ()


def effort_used(request: dict) -> str | None:
    efforts = efforts_of(model_name(request))
    return (request.get("reasoning_effort") or efforts[0]) if efforts else None


def openai_error(message: str, code: str, param: str) -> dict:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


def family_refusal(request: dict) -> dict | None:
    """OpenAI's 400 body for a parameter the request's model does not take; None: it takes all."""
    name = model_name(request)
    efforts = efforts_of(name)
    if not efforts:
        return None
    if "max_tokens" in request:
        return openai_error(
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            "unsupported_parameter",
            "max_tokens",
        )
    effort = request.get("reasoning_effort")
    if effort is not None and effort not in efforts:
        listed = sorted(efforts, key=list(REASONING_TOKENS).index)
        valid = ", ".join(f"'{e}'" for e in listed[:-1]) + f", and '{listed[-1]}'"
        return openai_error(
            f"Unsupported value: '{effort}' is not supported with the '{name}' model. "
            f"Supported values are: {valid}.",
            "unsupported_value",
            "reasoning_effort",
        )
    temperature = request.get("temperature")
    if temperature is not None and float(temperature) != 1 and effort_used(request) != "none":
        return openai_error(
            f"Unsupported value: 'temperature' does not support {float(temperature)!r} with this model. "
            "Only the default (1) value is supported.",
            "unsupported_value",
            "temperature",
        )
    return None


def valid_labels(messages: list[dict]) -> list[str]:
    for message in messages:
        if message.get("role") == "system":
            for line in str(message.get("content", "")).splitlines():
                if line.startswith("Valid labels:"):
                    return [label.strip() for label in line.split(":", 1)[1].split(",") if label.strip()]
    return ["yes", "no"]


def true_label(text: str, labels: list[str]) -> str:
    words = set(re.findall(r"[\w-]+", text.casefold()))
    for label in labels:
        if label.casefold() in words:
            return label
    return labels[-1]


class Config:
    def __init__(self, args: argparse.Namespace):
        self.latency = args.latency
        self.fault_rate = args.fault_rate
        self.faults = [fault for fault in args.faults.split(",") if fault]
        unknown = set(self.faults) - set(FAULTS)
        if unknown:
            raise SystemExit(f"unknown faults {sorted(unknown)}; valid: {FAULTS}")
        self.retry_after = args.retry_after
        self.hang = args.hang
        self.seed = args.seed
        self.api_key = args.api_key
        self.model_suffix = args.model_suffix
        self.die_after = args.die_after
        self.models = args.models
        self.batch_latency = args.batch_latency
        self.upload_latency = args.upload_latency
        self.batch_fail = numbers(args.batch_fail)
        self.batch_expire = numbers(args.batch_expire)
        self.batch_drop_create = numbers(args.batch_drop_create)
        self.batch_line_error_rate = args.batch_line_error_rate
        self.batch_max_requests = args.batch_max_requests
        self.batch_max_bytes = args.batch_max_bytes


def numbers(listed: str) -> set[int]:
    return {int(part) for part in listed.split(",") if part.strip()}


def canonical_hash(body: dict) -> str:
    """The same for a chat request's body and a batch line's body."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class State:
    """Counts per request body. The server is one asyncio loop: no locks needed."""

    def __init__(self):
        self.epoch = 0
        self.total = 0
        self.answered = 0  # chat requests answered with 200
        self.dying = False
        self.bodies: dict[str, dict] = {}
        self.files: dict[str, dict] = {}  # id -> {"object": file object, "content": bytes}
        self.batches: dict[str, dict] = {}  # id -> {"object": batch object, ...}, in creation order
        self.requests: dict[str, dict] = {}  # canonical body hash -> batch and chat counts
        self.prefixes: set[str] = set()  # (model, shared messages) seen: the prompt cache
        self.recent: collections.deque = collections.deque(maxlen=RECENT)  # the last chat bodies

    def request(self, canonical: str) -> dict:
        return self.requests.setdefault(
            canonical, {"batch_submitted": 0, "batch_answered": 0, "chat_answered": 0}
        )

    def add_file(self, content: bytes, filename: str, purpose: str) -> dict:
        file_id = f"file-{len(self.files):05d}{os.urandom(4).hex()}"
        obj = {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }
        self.files[file_id] = {"object": obj, "content": content}
        return obj

    def attempt(self, body_hash: str) -> int:
        self.total += 1
        entry = self.bodies.setdefault(body_hash, {"attempts": 0, "successes": {}, "times": [], "faults": []})
        entry["attempts"] += 1
        entry["times"].append(time.time())
        return entry["attempts"] - 1

    def record(self, body_hash: str, fault: str | None) -> None:
        entry = self.bodies[body_hash]
        if fault in (None, "outside"):
            key = str(self.epoch)
            entry["successes"][key] = entry["successes"].get(key, 0) + 1
        if fault is not None:
            entry["faults"].append(fault)


def completion(
    request: dict, body_hash: str, fault: str | None, config: Config, state: State | None = None
) -> dict:
    messages = request.get("messages") or []
    labels = valid_labels(messages)
    text = str(messages[-1].get("content", "")) if messages else ""
    truth = true_label(text, labels)
    answer = truth
    effort = effort_used(request)
    reasoning = REASONING_TOKENS[effort] if effort is not None else 0
    # A reasoning model thinks its way to the truth, but draws as at temperature > 0 where a
    # seed makes samples (n > 1) differ; a chat model samples at the temperature sent.
    drawn = float(request.get("temperature") or 0) > 0 if reasoning == 0 else "seed" in request
    if drawn and unit_draw("sample", body_hash) >= 0.6:
        others = [label for label in labels if label != truth] or labels
        answer = others[int(unit_draw("other", body_hash) * len(others))]
    if fault == "outside":
        answer = OUTSIDE_LABEL
    format_ = (request.get("response_format") or {}).get("type")
    content = json.dumps({"label": answer}) if format_ in ("json_schema", "json_object") else answer
    finish = "stop"
    limit = request.get("max_completion_tokens") or request.get("max_tokens")
    if reasoning and limit is not None and reasoning + 1 > int(limit):
        reasoning, content, finish = int(limit), "", "length"  # thought until the limit
    choice: dict = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}
    if request.get("logprobs") and reasoning == 0 and effort in (None, "none"):
        top = int(request.get("top_logprobs") or 0)
        if fault == "outside":
            pairs = [(OUTSIDE_LABEL, 0.9), ("The", 0.1)]
        else:
            others = [label for label in labels if label != answer]
            pairs = [(answer, 0.7), ("The", 0.1)] + [(label, 0.2 / len(others)) for label in others]
        entries = [
            {"token": token, "logprob": math.log(p), "bytes": list(token.encode())} for token, p in pairs
        ]
        choice["logprobs"] = {
            "content": [
                {"token": pairs[0][0], "logprob": entries[0]["logprob"], "top_logprobs": entries[:top]}
            ]
        }
    prompt_chars = sum(len(str(message.get("content", ""))) for message in messages)
    cached = 0
    if state is not None:
        prefix = hashlib.sha256(json.dumps([request.get("model"), messages[:-1]]).encode()).hexdigest()
        if prefix in state.prefixes:
            cached = sum(len(str(message.get("content", ""))) for message in messages[:-1]) // 4
        state.prefixes.add(prefix)
    return {
        "id": "chatcmpl-" + body_hash[:12],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(request.get("model")) + config.model_suffix,
        "system_fingerprint": "fp_fake",
        "choices": [choice],
        "usage": {
            "prompt_tokens": prompt_chars // 4 + 1,
            "completion_tokens": reasoning + (1 if content else 0),
            "total_tokens": prompt_chars // 4 + 1 + reasoning + (1 if content else 0),
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        },
    }


def json_response(status: int, payload: object, headers: dict | None = None, cut: bool = False):
    from aiohttp import web

    data = json.dumps(payload).encode()
    if cut:
        data = data[: len(data) // 2]  # Content-Length matches: valid HTTP, broken JSON
    return web.Response(status=status, body=data, content_type="application/json", headers=headers)


def error_response(status: int, message: str, headers: dict | None = None):
    return json_response(
        status, {"error": {"message": message, "type": "fake_error", "code": status}}, headers
    )


def reset_connection(request) -> None:
    """Close the socket with RST (SO_LINGER 0), as a crashed proxy does."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def draw_fault(config: Config, request: dict, body_hash: str, attempt: int) -> str | None:
    messages = request.get("messages") or [{}]
    content = str(messages[-1].get("content", ""))
    directive = DIRECTIVE.search(content)
    if directive and attempt == 0:
        return f"429={directive.group(1)}"
    if NO_FAULTS in content:
        return None
    if not config.faults or config.fault_rate <= 0:
        return None  # none to draw: no hash per request
    if unit_draw(config.seed, body_hash, attempt) < config.fault_rate:
        kind = int(unit_draw("kind", config.seed, body_hash, attempt) * len(config.faults))
        return config.faults[kind]
    return None


BATCH_STATES = ("validating", "in_progress", "finalizing", "completed", "failed", "expired", "cancelled")


def new_batch(state: State, config: Config, body: dict) -> dict:
    number = len(state.batches)
    now = time.time()
    obj = {
        "id": f"batch_{number:05d}{os.urandom(4).hex()}",
        "object": "batch",
        "endpoint": body.get("endpoint"),
        "errors": None,
        "input_file_id": body.get("input_file_id"),
        "completion_window": body.get("completion_window"),
        "status": "validating",
        "output_file_id": None,
        "error_file_id": None,
        "created_at": int(now),
        "in_progress_at": None,
        "expires_at": int(now) + 86400,
        "finalizing_at": None,
        "completed_at": None,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": None,
        "cancelled_at": None,
        "request_counts": {"total": 0, "completed": 0, "failed": 0},
        "metadata": body.get("metadata"),
    }
    entry = {"object": obj, "number": number, "started": time.monotonic(), "lines": None}
    state.batches[obj["id"]] = entry
    return entry


def validate_batch(state: State, config: Config, entry: dict) -> None:
    """validating -> in_progress (lines submitted: will be paid) or failed (nothing paid)."""
    obj = entry["object"]
    file = state.files.get(obj["input_file_id"])
    problem, lines = None, []
    if file is None:
        problem = ("invalid_file", "the input file does not exist", None)
    elif entry["number"] in config.batch_fail:
        problem = ("token_limit_exceeded", "Enqueued token limit reached (fake)", None)
    elif config.batch_max_bytes and len(file["content"]) > config.batch_max_bytes:
        problem = ("file_too_large", f"the file is over {config.batch_max_bytes} bytes", None)
    else:
        seen = set()
        for number, raw in enumerate(file["content"].splitlines(), 1):
            try:
                line = json.loads(raw)
                assert line["method"] == "POST" and line["url"] == obj["endpoint"]
                assert isinstance(line["body"], dict) and line["custom_id"] not in seen
            except (ValueError, KeyError, AssertionError, TypeError):
                problem = ("invalid_request", "a line is not a valid batch request", number)
                break
            seen.add(line["custom_id"])
            lines.append(line)
        if problem is None and config.batch_max_requests and len(lines) > config.batch_max_requests:
            problem = ("too_many_requests", f"over {config.batch_max_requests} requests", None)
    now = int(time.time())
    if problem is not None:
        code, message, line = problem
        obj.update(status="failed", failed_at=now)
        obj["errors"] = {"object": "list", "data": [{"code": code, "message": message, "line": line}]}
        return
    entry["lines"] = lines
    obj.update(status="in_progress", in_progress_at=now)
    obj["request_counts"]["total"] = len(lines)
    for line in lines:
        state.request(canonical_hash(line["body"]))["batch_submitted"] += 1


def finish_batch(state: State, config: Config, entry: dict, status: str) -> None:
    """Answer the lines (all; the first half when the batch expires; those done when it is
    cancelled) and write the output and error files."""
    obj, lines = entry["object"], entry["lines"]
    done = len(lines)
    if status == "expired":
        done = len(lines) // 2
    elif status == "cancelled":
        done = obj["request_counts"]["completed"]
    outputs, errors = [], []
    for index, line in enumerate(lines):
        custom_id, body = line["custom_id"], line["body"]
        canonical = canonical_hash(body)
        counts = state.request(canonical)
        if index >= done:
            if status == "expired":
                error = {"code": "batch_expired", "message": "not executed before the window expired"}
                errors.append(
                    {"id": f"req_{index}", "custom_id": custom_id, "error": error, "response": None}
                )
            continue
        submission = counts["batch_submitted"]
        if unit_draw(config.seed, "line", custom_id, submission) < config.batch_line_error_rate:
            body_error = {"error": {"message": "The server had an error (fake)", "type": "server_error"}}
            response = {"status_code": 500, "request_id": f"r{index}", "body": body_error}
            errors.append({"id": f"req_{index}", "custom_id": custom_id, "response": response, "error": None})
            continue
        refusal = family_refusal(body)
        if refusal is not None:
            response = {"status_code": 400, "request_id": f"r{index}", "body": refusal}
            errors.append({"id": f"req_{index}", "custom_id": custom_id, "response": response, "error": None})
            continue
        counts["batch_answered"] += 1
        answer = completion(body, canonical, None, config, state)
        response = {"status_code": 200, "request_id": f"r{index}", "body": answer}
        outputs.append({"id": f"req_{index}", "custom_id": custom_id, "response": response, "error": None})

    def jsonl(records: list[dict]) -> bytes:
        return "".join(json.dumps(record) + "\n" for record in records).encode()

    if outputs:
        obj["output_file_id"] = state.add_file(jsonl(outputs), "output.jsonl", "batch_output")["id"]
    if errors:
        obj["error_file_id"] = state.add_file(jsonl(errors), "errors.jsonl", "batch_output")["id"]
    obj["request_counts"].update(completed=len(outputs), failed=len(errors))
    obj["status"] = status
    obj[f"{status}_at"] = int(time.time())


def advance(state: State, config: Config, entry: dict) -> dict:
    """A batch's state as of now (it moves only when it is read)."""
    obj = entry["object"]
    elapsed = time.monotonic() - entry["started"]
    if obj["status"] == "validating" and elapsed >= 0.1 * config.batch_latency:
        validate_batch(state, config, entry)
    if obj["status"] == "in_progress":
        total = obj["request_counts"]["total"]
        share = min(1.0, elapsed / config.batch_latency) if config.batch_latency else 1.0
        obj["request_counts"]["completed"] = int(total * share * 0.9)
        # A batch set to expire does so whenever it is first read past half its time, even
        # past all of it: a client slowed by a loaded machine must still see it expire.
        if share >= 0.5 and entry["number"] in config.batch_expire:
            finish_batch(state, config, entry, "expired")
        elif share >= 1.0:
            obj.update(status="finalizing", finalizing_at=int(time.time()))
    if obj["status"] == "finalizing":
        finish_batch(state, config, entry, "completed")
    if obj["status"] == "cancelling":
        finish_batch(state, config, entry, "cancelled")
    return obj


def add_batch_routes(app, config: Config, state: State, refused_key) -> None:
    from aiohttp import web

    async def upload(request):
        if (refusal := refused_key(request)) is not None:
            return refusal
        form = await request.post()
        if config.upload_latency:
            await asyncio.sleep(config.upload_latency)
        field = form.get("file")
        if field is None or not hasattr(field, "file"):
            return error_response(400, "a multipart field `file` is required")
        return json_response(200, state.add_file(field.file.read(), field.filename, str(form.get("purpose"))))

    async def file_object(request):
        if (refusal := refused_key(request)) is not None:
            return refusal
        file = state.files.get(request.match_info["file_id"])
        if file is None:
            return error_response(404, "No such file")
        return json_response(200, file["object"])

    async def file_content(request):
        if (refusal := refused_key(request)) is not None:
            return refusal
        file = state.files.get(request.match_info["file_id"])
        if file is None:
            return error_response(404, "No such file")
        return web.Response(body=file["content"], content_type="application/octet-stream")

    async def create(request):
        if (refusal := refused_key(request)) is not None:
            return refusal
        body = json.loads(await request.read())
        if body.get("input_file_id") not in state.files:
            return error_response(400, f"No such file: {body.get('input_file_id')}")
        if body.get("endpoint") != "/v1/chat/completions" or body.get("completion_window") != "24h":
            return error_response(400, "endpoint must be /v1/chat/completions, completion_window 24h")
        entry = new_batch(state, config, body)
        if entry["number"] in config.batch_drop_create:
            reset_connection(request)  # made, but the client never learns its id
            return web.Response(status=500)
        return json_response(200, advance(state, config, entry))

    async def retrieve(request):
        if (refusal := refused_key(request)) is not None:
            return refusal
        entry = state.batches.get(request.match_info["batch_id"])
        if entry is None:
            return error_response(404, "No such batch")
        return json_response(200, advance(state, config, entry))

    async def cancel(request):
        if (refusal := refused_key(request)) is not None:
            return refusal
        entry = state.batches.get(request.match_info["batch_id"])
        if entry is None:
            return error_response(404, "No such batch")
        obj = advance(state, config, entry)
        if obj["status"] in ("validating", "in_progress", "finalizing"):
            if entry["lines"] is None:
                entry["lines"] = []
            obj.update(status="cancelling", cancelling_at=int(time.time()))
        return json_response(200, obj)

    async def listing(request):
        if (refusal := refused_key(request)) is not None:
            return refusal
        limit = int(request.query.get("limit", 20))
        newest_first = [advance(state, config, entry) for entry in reversed(list(state.batches.values()))]
        after = request.query.get("after")
        if after:
            ids = [obj["id"] for obj in newest_first]
            newest_first = newest_first[ids.index(after) + 1 :] if after in ids else []
        page = newest_first[:limit]
        return json_response(
            200,
            {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": len(newest_first) > limit,
            },
        )

    app.router.add_post("/v1/files", upload)
    app.router.add_get("/v1/files/{file_id}", file_object)
    app.router.add_get("/v1/files/{file_id}/content", file_content)
    app.router.add_post("/v1/batches", create)
    app.router.add_get("/v1/batches", listing)
    app.router.add_get("/v1/batches/{batch_id}", retrieve)
    app.router.add_post("/v1/batches/{batch_id}/cancel", cancel)


def make_app(config: Config, state: State):
    from aiohttp import web

    def refused_key(request):
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if config.api_key and given != config.api_key:
            return error_response(
                401, f"Incorrect API key provided: {given}. You can find your API key at ..."
            )
        return None

    async def models(request):
        if (refusal := refused_key(request)) is not None:
            return refusal
        return json_response(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

    async def stats(request):
        batches = [
            {
                "id": entry["object"]["id"],
                "status": entry["object"]["status"],
                "input_file_id": entry["object"]["input_file_id"],
                "requests": len(entry["lines"] or []),
            }
            for entry in state.batches.values()
        ]
        return json_response(
            200,
            {
                "epoch": state.epoch,
                "total": state.total,
                "bodies": state.bodies,
                "batches": batches,
                "requests": state.requests,
                "uploads": len([f for f in state.files.values() if f["object"]["purpose"] == "batch"]),
                "recent": list(state.recent),
            },
        )

    async def next_epoch(request):
        state.epoch += 1
        return json_response(200, {"epoch": state.epoch})

    async def chat(request):
        # The latency counts from the request's arrival: the server's own work happens within it,
        # as a real server's does, so that the ideal rate (concurrency / latency) is the rate of
        # a client that adds nothing.
        arrival = time.monotonic()
        body = await request.read()
        if state.dying:
            reset_connection(request)
            return web.Response(status=500)  # never reaches the client
        if (refusal := refused_key(request)) is not None:
            return refusal
        try:
            payload = json.loads(body)
        except ValueError:
            return error_response(400, "request body is not JSON")
        state.recent.append(payload)
        refusal = family_refusal(payload)
        if refusal is not None:
            return json_response(400, refusal)
        body_hash = hashlib.sha256(body).hexdigest()
        attempt = state.attempt(body_hash)
        fault = draw_fault(config, payload, body_hash, attempt)
        answer = canonical = None
        if fault in (None, "outside", "truncated"):
            # Built before the wait; the counts change only after it (a request cut off by a
            # dying server is not answered).
            answer = completion(payload, body_hash, fault, config, state)
            answer = json_response(200, answer, cut=fault == "truncated")
            canonical = canonical_hash(payload) if fault != "truncated" else None
        if config.latency:
            await asyncio.sleep(arrival + config.latency - time.monotonic())
        if state.dying:  # died while this request waited
            reset_connection(request)
            return web.Response(status=500)
        if fault in ("timeout", "reset"):
            state.record(body_hash, fault)
            if fault == "timeout":
                await asyncio.sleep(config.hang)
            reset_connection(request)
            return web.Response(status=500)  # never reaches the client
        if fault is not None and fault.startswith("429"):
            retry_after = fault.split("=", 1)[1] if "=" in fault else config.retry_after
            state.record(body_hash, "429")
            return error_response(429, "Rate limit reached (fake)", {"Retry-After": retry_after})
        if fault in ("500", "503"):
            state.record(body_hash, fault)
            headers = {"Retry-After": config.retry_after} if fault == "503" else None
            return error_response(int(fault), "The server had an error (fake)", headers)
        state.record(body_hash, fault)
        state.answered += 1
        if canonical is not None:
            state.request(canonical)["chat_answered"] += 1
        if config.die_after is not None and state.answered >= config.die_after:
            state.dying = True  # this answer still goes out; then the process ends
            asyncio.get_running_loop().call_later(0.05, os._exit, 0)
        return answer

    app = web.Application(client_max_size=64 * 1024**2)
    if config.models:
        app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/_stats", stats)
    add_batch_routes(app, config, state, refused_key)
    app.router.add_post("/_epoch", next_epoch)
    return app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed on stdout)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds from a request to its answer")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated, from {FAULTS}")
    parser.add_argument("--retry-after", default="0", help="Retry-After value sent with 429 and 503")
    parser.add_argument("--hang", type=float, default=2.0, help="seconds a 'timeout' fault keeps silent")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--api-key", default=None, help="the only key accepted (default: any)")
    parser.add_argument("--model-suffix", default="-fake-2025", help="appended to the model in answers")
    parser.add_argument("--die-after", type=int, default=None, help="exit after this many answers")
    parser.add_argument(
        "--models", action=argparse.BooleanOptionalAction, default=True, help="serve GET /v1/models"
    )
    parser.add_argument("--batch-latency", type=float, default=0.5, help="seconds a batch takes")
    parser.add_argument("--upload-latency", type=float, default=0.0, help="seconds a file upload takes")
    parser.add_argument("--batch-fail", default="", help="numbers of the batches that fail validation")
    parser.add_argument("--batch-expire", default="", help="numbers of the batches that expire half done")
    parser.add_argument("--batch-drop-create", default="", help="numbers of the batches whose create drops")
    parser.add_argument("--batch-line-error-rate", type=float, default=0.0, help="share of lines with a 500")
    parser.add_argument("--batch-max-requests", type=int, default=50_000, help="requests per batch")
    parser.add_argument("--batch-max-bytes", type=int, default=200_000_000, help="bytes per input file")
    return parser.parse_args(argv)


def serve(argv: list[str] | None = None) -> None:
    from aiohttp import web

    args = parse_args(argv)
    config = Config(args)
    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)  # resets and timeouts are on purpose

    async def run() -> None:
        runner = web.AppRunner(make_app(config, State()), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", args.port, backlog=1024)
        await site.start()
        print(site._server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


class FakeOpenAIServer:
    """The server in a child process for the length of a `with` block."""

    def __init__(self, **options):
        self.argv = []
        for name, value in options.items():
            flag = name.replace("_", "-")
            if isinstance(value, bool):
                self.argv.append(f"--{flag}" if value else f"--no-{flag}")
            elif value is not None:
                self.argv += [f"--{flag}", str(value)]
        self.process: subprocess.Popen | None = None
        self.port: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self.process = subprocess.Popen(
            [sys.executable, __file__, *self.argv], stdout=subprocess.PIPE, text=True
        )
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.process.kill()
            raise RuntimeError(f"fake OpenAI server did not start: {line!r}")
        self.port = int(line)
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _call(self, path: str, method: str = "GET") -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method, data=b"" if method == "POST" else None
        )
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        with direct.open(request, timeout=10) as response:
            return json.loads(response.read())

    def stats(self) -> dict:
        return self._call("/_stats")

    def next_epoch(self) -> int:
        return self._call("/_epoch", "POST")["epoch"]


if __name__ == "__main__":
    serve()
