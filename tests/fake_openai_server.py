"""A fault-injecting OpenAI-compatible HTTP server for tests and benchmarks.

Runs in its own process (so that its work never competes with the client's event loop for the
GIL) on 127.0.0.1 and a free port: `with FakeOpenAIServer(latency=0.05, fault_rate=0.3) as
server: ... server.base_url ...`. Also `python tests/fake_openai_server.py --help`.

Endpoints: GET /v1/models; POST /v1/chat/completions (logprobs/top_logprobs, json_schema
response_format, seed); GET /_stats and POST /_epoch for tests.

The truth: the valid labels are read from the system message's "Valid labels: a, b" line; the
answer is the first label that occurs as a word in the last user message, else the last label.
At temperature > 0 the answer is the truth with probability 0.6, else another label, drawn from
the request body (so the seed per sample makes samples differ, reproducibly).

Faults are drawn per (request body, attempt number) from a hash with `seed`, so a run is
reproducible and a retry can succeed: 429 with Retry-After, 500, 503, timeout (no answer for
`hang` seconds, then the connection is closed), reset (the socket is closed with RST), truncated
(a 200 whose JSON body is cut short), outside (a well-formed answer outside the label set: a
paid answer). A text may also carry a directive: "[[429 retry-after=1]]" answers its first
attempt with 429 and that Retry-After header.

A request with a Bearer key other than `api_key` (when set) gets 401, with a message that
echoes the key given, as OpenAI's does: the client must keep it out of every message.

/_stats gives, per sha256 of a request body: attempts, successes (answers that parse: paid),
per epoch, the time of every attempt, and the faults given.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("429", "500", "503", "timeout", "reset", "truncated", "outside")
OUTSIDE_LABEL = "maybe"
DIRECTIVE = re.compile(r"\[\[429 retry-after=([0-9.]+)\]\]")


def unit_draw(*parts: object) -> float:
    """A number in [0, 1) fixed by its arguments."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


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


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.epoch = 0
        self.total = 0
        self.bodies: dict[str, dict] = {}

    def attempt(self, body_hash: str) -> int:
        with self.lock:
            self.total += 1
            entry = self.bodies.setdefault(
                body_hash, {"attempts": 0, "successes": {}, "times": [], "faults": []}
            )
            entry["attempts"] += 1
            entry["times"].append(time.time())
            return entry["attempts"] - 1

    def record(self, body_hash: str, fault: str | None) -> None:
        with self.lock:
            entry = self.bodies[body_hash]
            if fault in (None, "outside"):
                key = str(self.epoch)
                entry["successes"][key] = entry["successes"].get(key, 0) + 1
            if fault is not None:
                entry["faults"].append(fault)


def completion(request: dict, body_hash: str, fault: str | None, config: Config) -> dict:
    messages = request.get("messages") or []
    labels = valid_labels(messages)
    text = str(messages[-1].get("content", "")) if messages else ""
    truth = true_label(text, labels)
    answer = truth
    if float(request.get("temperature") or 0) > 0 and unit_draw("sample", body_hash) >= 0.6:
        others = [label for label in labels if label != truth] or labels
        answer = others[int(unit_draw("other", body_hash) * len(others))]
    if fault == "outside":
        answer = OUTSIDE_LABEL
    format_ = (request.get("response_format") or {}).get("type")
    content = json.dumps({"label": answer}) if format_ == "json_schema" else answer
    choice: dict = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    if request.get("logprobs"):
        top = int(request.get("top_logprobs") or 0)
        if fault == "outside":
            pairs = [(OUTSIDE_LABEL, 0.9), ("The", 0.1)]
        else:
            others = [label for label in labels if label != answer]
            pairs = [(answer, 0.7), ("The", 0.1)] + [(label, 0.2 / len(others)) for label in others]
        entries = [{"token": token, "logprob": math.log(p), "bytes": list(token.encode())} for token, p in pairs]
        choice["logprobs"] = {
            "content": [{"token": pairs[0][0], "logprob": entries[0]["logprob"], "top_logprobs": entries[:top]}]
        }
    prompt_chars = sum(len(str(message.get("content", ""))) for message in messages)
    return {
        "id": "chatcmpl-" + body_hash[:12],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(request.get("model")) + config.model_suffix,
        "system_fingerprint": "fp_fake",
        "choices": [choice],
        "usage": {
            "prompt_tokens": prompt_chars // 4 + 1,
            "completion_tokens": 1,
            "total_tokens": prompt_chars // 4 + 2,
        },
    }


def make_handler(config: Config, state: State):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: one connection per client slot
        disable_nagle_algorithm = True  # no 40 ms stalls between header and body

        def log_message(self, *args) -> None:
            pass

        def send_json(self, status: int, payload: object, headers: dict | None = None, cut: bool = False):
            data = json.dumps(payload).encode()
            if cut:
                data = data[: len(data) // 2]
            head = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
            head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
            head += [f"{name}: {value}" for name, value in (headers or {}).items()]
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)

        def error(self, status: int, message: str, headers: dict | None = None) -> None:
            payload = {"error": {"message": message, "type": "fake_error", "code": status}}
            self.send_json(status, payload, headers)

        def reset(self) -> None:
            # SO_LINGER 0: close() sends RST, as a crashed proxy does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self.send_json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
            elif self.path == "/_stats":
                with state.lock:
                    payload = {"epoch": state.epoch, "total": state.total, "bodies": state.bodies}
                    data = json.loads(json.dumps(payload))
                self.send_json(200, data)
            else:
                self.error(404, f"no route {self.path}")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/_epoch":
                with state.lock:
                    state.epoch += 1
                self.send_json(200, {"epoch": state.epoch})
                return
            if self.path.rstrip("/") != "/v1/chat/completions":
                self.error(404, f"no route {self.path}")
                return
            given = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
            if config.api_key and given != config.api_key:
                self.error(401, f"Incorrect API key provided: {given}. You can find your API key at ...")
                return
            try:
                request = json.loads(body)
            except ValueError:
                self.error(400, "request body is not JSON")
                return
            body_hash = hashlib.sha256(body).hexdigest()
            attempt = state.attempt(body_hash)
            fault = self.draw_fault(request, body_hash, attempt)
            time.sleep(config.latency)
            if fault == "timeout":
                state.record(body_hash, fault)
                time.sleep(config.hang)
                self.reset()
                return
            if fault == "reset":
                state.record(body_hash, fault)
                self.reset()
                return
            if fault is not None and fault.startswith("429"):
                retry_after = fault.split("=", 1)[1] if "=" in fault else config.retry_after
                state.record(body_hash, "429")
                self.error(429, "Rate limit reached (fake)", {"Retry-After": retry_after})
                return
            if fault in ("500", "503"):
                state.record(body_hash, fault)
                headers = {"Retry-After": config.retry_after} if fault == "503" else None
                self.error(int(fault), "The server had an error (fake)", headers)
                return
            payload = completion(request, body_hash, fault, config)
            state.record(body_hash, fault)
            self.send_json(200, payload, cut=fault == "truncated")

        def draw_fault(self, request: dict, body_hash: str, attempt: int) -> str | None:
            messages = request.get("messages") or [{}]
            directive = DIRECTIVE.search(str(messages[-1].get("content", "")))
            if directive and attempt == 0:
                return f"429={directive.group(1)}"
            if config.faults and unit_draw(config.seed, body_hash, attempt) < config.fault_rate:
                return config.faults[int(unit_draw("kind", config.seed, body_hash, attempt) * len(config.faults))]
            return None

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the listen backlog: 64 clients connecting at once are not refused


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed on stdout)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before every answer")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated, from {FAULTS}")
    parser.add_argument("--retry-after", default="0", help="Retry-After value sent with 429 and 503")
    parser.add_argument("--hang", type=float, default=2.0, help="seconds a 'timeout' fault keeps silent")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--api-key", default=None, help="the only key accepted (default: any)")
    parser.add_argument("--model-suffix", default="-fake-2025", help="appended to the model in answers")
    return parser.parse_args(argv)


def serve(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    config = Config(args)
    server = Server(("127.0.0.1", args.port), make_handler(config, State()))
    print(server.server_address[1], flush=True)
    server.serve_forever()


class FakeOpenAIServer:
    """The server in a child process for the length of a `with` block."""

    def __init__(self, **options):
        self.argv = []
        for name, value in options.items():
            if value is not None:
                self.argv += [f"--{name.replace('_', '-')}", str(value)]
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
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stats(self) -> dict:
        return self._call("/_stats")

    def next_epoch(self) -> int:
        return self._call("/_epoch", "POST")["epoch"]


if __name__ == "__main__":
    serve()
