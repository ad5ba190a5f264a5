"""The `openai` teacher against a real HTTP server on 127.0.0.1 that injects faults.

Nothing inside the client is mocked: requests go over sockets to tests/fake_openai_server.py,
which answers the label a text names (its truth), and counts every request body it answered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_openai_server import FakeOpenAIServer
from labeler_settings import openai
from sentiment_texts import CODEBOOK, LABELS, WORKER, make_texts, truth

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.accounting import BudgetExceeded
from labeldistill.teachers.chat.response_cache import ResponseCache
from labeldistill.teachers.openai import chat as openai_api
from labeldistill.teachers.openai import protocol
from labeldistill.teachers.openai.chat import ChatEngine
from labeldistill.teachers.openai.teacher import estimate_api_cost, label_with_api
from labeldistill.teachers.openai.transport import TransportError, classify
from labeldistill.teachers.prompts.chat import build_chat_prompt
from labeldistill.teachers.prompts.examples import Example
from labeldistill.teachers.prompts.token_count import token_counter
from labeldistill.teachers.prompts.truncation import truncate
from labeldistill.teachers.settings import OpenAISettings


def settings_for(server: FakeOpenAIServer, **extra) -> OpenAISettings:
    return openai(
        **{
            "model": "gpt-4o-mini",
            "base_url": server.base_url,
            "api_key_env": "",
            "concurrency": 16,
            "timeout": 0.5,
            "max_retries": 10,
            "backoff_base": 0.01,
            "backoff_cap": 0.05,
            "progress": False,
            **extra,
        }
    )


def outcome(result) -> tuple:
    """What a result says about its text, leaving out how it was obtained (cache hits)."""
    fields = dataclasses.asdict(result)
    return tuple(fields[name] for name in ("id", "label", "probabilities", "consistency", "error", "raw"))


def successes(stats: dict) -> dict[str, int]:
    """Per request body, the answers it was given over all epochs."""
    return {body: sum(entry["successes"].values()) for body, entry in stats["bodies"].items()}


@pytest.fixture(scope="module")
def faulty_server():
    with FakeOpenAIServer(latency=0.01, fault_rate=0.3, retry_after="0.01", hang=1.0, seed=3) as server:
        yield server


@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer(latency=0.01) as server:
        yield server


@pytest.mark.parametrize(
    "mode, transport",
    [("text", "aiohttp"), ("logprobs", "aiohttp"), ("json_schema", "aiohttp"), ("text", "openai")],
)
def test_every_text_ends_labelled_or_failed_under_faults(faulty_server, tmp_path, mode, transport):
    texts = make_texts(60, f"faults-{mode}-{transport}")
    settings = settings_for(faulty_server, mode=mode, transport=transport)
    results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt", "demo")

    assert [r.id for r in results] == [str(i) for i in range(60)]
    failed = [r for r in results if r.label is None]
    for result, text in zip(results, texts, strict=True):
        if result.label is None:
            # The only failures: answers outside the label set, kept as given.
            assert result.raw and "maybe" in result.raw[0] and result.error, result
        else:
            assert result.label == truth(text) and result.consistency == 1.0
            assert result.provenance["model_reported"] == "gpt-4o-mini-fake-2025"
            assert result.provenance["system_fingerprint"] == "fp_fake"
            if mode == "logprobs":
                assert max(result.probabilities) == pytest.approx(0.7 / 0.9)
    assert 0 < len(failed) < 20 and usage.retries > 0
    assert usage.failed_texts == len(failed) and usage.responses == 60 and usage.cache_hits == 0
    assert usage.requests_sent == 60 + usage.retries
    assert usage.dollars > 0 and usage.input_tokens > 0

    # No request was answered twice, and every fault kind was met along the way.
    paid = successes(faulty_server.stats())
    assert max(paid.values()) == 1
    # A second run: everything from the cache, not one request sent.
    again, usage_again = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt", "demo")
    assert usage_again.requests_sent == 0 and usage_again.cache_hits == 60
    assert [outcome(r) for r in again] == [outcome(r) for r in results]
    assert all(r.cache_hits == 1 for r in again)


def test_all_fault_kinds_were_injected(faulty_server):
    faults = {f for entry in faulty_server.stats()["bodies"].values() for f in entry["faults"]}
    assert faults >= {"429", "500", "503", "timeout", "reset", "truncated", "outside"}


@pytest.mark.parametrize("concurrency", [1, 16])
def test_identical_texts_are_asked_once(server, tmp_path, concurrency):
    # Asked at once (concurrency 16) or one after another (1): one request per distinct text.
    texts = ["dup text that is negative here"] * 3 + make_texts(3, f"dup{concurrency}") * 2
    settings = settings_for(server, concurrency=concurrency)
    results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path)
    assert usage.requests_sent == 4 and usage.cache_hits == 5
    assert [r.label for r in results[:3]] == ["negative"] * 3


def test_requests_per_minute_paces_the_run(server, tmp_path):
    texts = make_texts(30, "paced")
    started = time.monotonic()
    _, usage = label_with_api(
        texts, None, CODEBOOK, LABELS, [], settings_for(server, requests_per_minute=1200), tmp_path
    )
    # 20 a second, with a burst of one second's worth: the last 10 wait half a second.
    assert usage.requests_sent == 30 and time.monotonic() - started >= 0.45


def test_the_estimate_leaves_out_what_is_cached(server, tmp_path):
    texts = make_texts(4, "estimate")
    settings = settings_for(server, samples=2, temperature=0.5, max_tokens=3)
    label_with_api(texts[:3], None, CODEBOOK, LABELS, [], settings, tmp_path)
    estimate = estimate_api_cost(texts, CODEBOOK, LABELS, [], settings, tmp_path)
    assert (estimate.cached_requests, estimate.requests, estimate.max_output_tokens) == (6, 2, 6)
    assert estimate.dollars_max > 0 and estimate.token_method.startswith("tiktoken")


# About 100,000 characters; the word that names its label comes only after the first 64 tokens.
LONG_TEXT = "The weather report went on and on about clouds and wind. " * 1750 + "In the end: positive."


def test_a_long_text_is_sent_cut_counted_and_cached_as_cut(tmp_path, caplog):
    texts = [LONG_TEXT, "a short text that is negative"]
    counter = token_counter("gpt-4o-mini")
    cut, _ = truncate(LONG_TEXT, 64, counter)
    with FakeOpenAIServer() as fresh:
        settings = settings_for(fresh, max_text_tokens=64)
        with caplog.at_level(logging.WARNING, logger="labeldistill"):
            results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path)
        # The server saw the cut text: not the label word after the cut (its answer falls back to
        # the last label), and the prompt it counted (characters / 4 + 1) is the cut one.
        sent = build_chat_prompt(CODEBOOK, LABELS, []).messages(cut)
        assert [r.label for r in results] == ["neutral", "negative"]
        assert results[0].input_tokens == sum(len(m["content"]) for m in sent) // 4 + 1 < 150
        assert usage.truncated_texts == 1 and usage.requests_sent == 2
        truncation_warnings = [r for r in caplog.records if "max_text_tokens" in r.getMessage()]
        assert len(truncation_warnings) == 1 and "1 of 2 texts" in truncation_warnings[0].getMessage()

        again, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path)
        assert usage.cache_hits == 2 and usage.requests_sent == 0 and usage.truncated_texts == 1
        assert [outcome(r) for r in again] == [outcome(r) for r in results]

        # The whole text is another request: its answer is never the cut text's cached one.
        whole, usage = label_with_api(
            texts,
            None,
            CODEBOOK,
            LABELS,
            [],
            dataclasses.replace(settings, max_text_tokens=100_000),
            tmp_path,
        )
        assert [r.label for r in whole] == ["positive", "negative"] and usage.truncated_texts == 0
        assert usage.requests_sent == 1 and usage.cache_hits == 1
        assert whole[0].input_tokens > len(LONG_TEXT) // 4

    estimate = estimate_api_cost(texts, CODEBOOK, LABELS, [], settings, tmp_path / "empty")
    overhead = protocol.prompt_overhead_tokens(counter, build_chat_prompt(CODEBOOK, LABELS, []))
    assert estimate.truncated_texts == 1 and counter.count(cut) == 64
    assert estimate.prompt_tokens == 2 * overhead + 64 + counter.count(texts[1])


def test_a_bad_key_stops_the_run_at_once_and_never_shows(tmp_path, monkeypatch, caplog, capfd):
    secret = "sk-test-SECRET-0123456789"
    monkeypatch.setenv("FAKE_TEST_KEY", secret)
    caplog.set_level(logging.DEBUG)
    with FakeOpenAIServer(latency=0.01, api_key="sk-the-right-one") as keyed:
        settings = settings_for(keyed, api_key_env="FAKE_TEST_KEY", concurrency=4)
        started = time.monotonic()
        with pytest.raises(LabelDistillError) as raised:
            label_with_api(make_texts(200, "key"), None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")
        elapsed = time.monotonic() - started
        sent = keyed.stats()["total"]
        # The right key: answers are cached, the key is not.
        monkeypatch.setenv("FAKE_TEST_KEY", "sk-the-right-one")
        results, _ = label_with_api(
            make_texts(3, "key"), None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt"
        )
        assert all(r.label is not None for r in results) and ResponseCache(tmp_path).size().entries == 3
    message = str(raised.value)
    assert "labeler gpt" in message and "HTTP 401" in message and "Incorrect API key provided" in message
    assert "\n" not in message and secret not in message
    assert elapsed < 5 and sent <= 4 + 4  # stopped with the first answers, not after 200 texts
    out, err = capfd.readouterr()
    assert secret not in caplog.text and secret not in out and secret not in err
    for file in tmp_path.rglob("*"):
        if file.is_file():
            assert secret not in file.read_text(errors="replace")
            assert "sk-the-right-one" not in file.read_text(errors="replace")
    assert "sk-the-right-one" not in caplog.text
    assert secret not in repr(raised.value.__cause__) and raised.value.__cause__ is None


def test_an_unknown_route_is_a_hard_error(server, tmp_path):
    settings = settings_for(server, base_url=server.base_url.replace("/v1", "/v2"))
    with pytest.raises(LabelDistillError, match="HTTP 404"):
        label_with_api(make_texts(3, "route"), None, CODEBOOK, LABELS, [], settings, tmp_path)


def closed_port() -> int:
    """A port nothing listens on: bound, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("transport", ["aiohttp", "openai"])
def test_a_closed_port_stops_the_run_at_once_with_one_line(tmp_path, monkeypatch, transport):
    secret = "sk-test-CLOSED-PORT-0123456789"
    monkeypatch.setenv("FAKE_TEST_KEY", secret)
    url = f"http://127.0.0.1:{closed_port()}/v1"
    settings = openai(
        model="m", base_url=url, api_key_env="FAKE_TEST_KEY", progress=False, transport=transport
    )
    started = time.monotonic()
    with pytest.raises(LabelDistillError) as raised:
        label_with_api(make_texts(50, "refused"), None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt4o")
    elapsed = time.monotonic() - started
    message = str(raised.value)
    assert message == (
        f"labeler gpt4o: cannot reach {url} (connection refused); nothing was labelled; "
        "start the server or fix labelers.gpt4o.base_url, then rerun"
    )
    assert secret not in repr(raised.value) and raised.value.__cause__ is None
    assert elapsed < 2, elapsed  # was 31 s: every text retried 7 times
    assert ResponseCache(tmp_path).size().entries == 0


def test_a_run_answered_from_the_cache_needs_no_server(server, tmp_path):
    texts = make_texts(3, "offline")
    label_with_api(texts, None, CODEBOOK, LABELS, [], settings_for(server), tmp_path)
    gone = settings_for(server, base_url=f"http://127.0.0.1:{closed_port()}/v1")
    results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], gone, tmp_path)
    assert [r.label for r in results] == [truth(t) for t in texts] and usage.cache_hits == 3


def test_a_server_without_models_is_reachable(tmp_path):
    with FakeOpenAIServer(models=False) as bare:  # GET /v1/models: 404, as on some servers
        results, usage = label_with_api(
            make_texts(3, "bare"), None, CODEBOOK, LABELS, [], settings_for(bare), tmp_path
        )
    assert all(r.label is not None for r in results) and usage.requests_sent == 3


def test_a_server_that_dies_mid_run_stops_it_promptly(tmp_path):
    texts = make_texts(200, "dies")
    with FakeOpenAIServer(latency=0.02, die_after=20) as dying:
        # The defaults of a real run: 6 retries per request with backoff from 1 s.
        settings = openai(model="m", base_url=dying.base_url, concurrency=4, progress=False)
        started = time.monotonic()
        with pytest.raises(LabelDistillError) as raised:
            label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt4o")
        elapsed = time.monotonic() - started
        url = dying.base_url
    message = str(raised.value)
    assert message.startswith(f"labeler gpt4o: lost {url} (connection refused) after ")
    assert message.endswith(
        " of 200 texts; their answers are in the response cache; "
        "start the server or fix labelers.gpt4o.base_url, then rerun"
    )
    assert "\n" not in message and elapsed < 5, elapsed
    kept = ResponseCache(tmp_path).size().entries
    assert 15 <= kept <= 20  # what was answered is kept; in flight at the crash: lost
    # The server back: the run goes on from the cache and pays for the rest only.
    with FakeOpenAIServer(latency=0.0) as back:
        results, usage = label_with_api(
            texts,
            None,
            CODEBOOK,
            LABELS,
            [],
            dataclasses.replace(settings, base_url=back.base_url),
            tmp_path,
            "gpt4o",
        )
    assert all(r.label == truth(t) for r, t in zip(results, texts, strict=True))
    assert usage.cache_hits == kept and usage.requests_sent == 200 - kept


def test_a_burst_of_refusals_is_confirmed_before_the_run_stops(server, tmp_path, monkeypatch):
    """Failures to connect that the probe does not confirm are retried as before."""
    settings = settings_for(server)
    teacher = ChatEngine(
        settings, LABELS, build_chat_prompt(CODEBOOK, LABELS, []), ResponseCache(tmp_path), "k", "gpt"
    )
    real_open = openai_api.open_transport

    class Flaky:
        """The real transport, but the first 5 posts are refused."""

        def __init__(self, *args):
            self.inner = real_open(*args)
            self.refusals = 5

        async def post(self, payload, body=None):
            if self.refusals:
                self.refusals -= 1
                raise TransportError("connection refused", "refused")
            return await self.inner.post(payload, body)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(openai_api, "open_transport", Flaky)
    results = asyncio.run(teacher.label(make_texts(8, "flaky")))
    assert all(r.label is not None for r in results) and teacher.usage.retries == 5


def test_transport_errors_say_what_happened():
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")
    wrapped = OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 9, 0, 0), ...")
    cases = {
        "connection refused": [refused, wrapped],
        "host name not found": [socket.gaierror(-2, "Name or service not known")],
        "host unreachable": [OSError(errno.EHOSTUNREACH, "No route to host")],
        "no answer within 60 s": [TimeoutError()],
        "connection dropped (RuntimeError)": [ConnectionResetError()],
    }
    for words, errors in cases.items():
        for error in errors:
            try:
                try:
                    raise error
                except Exception as inner:
                    raise RuntimeError("client error") from inner
            except RuntimeError as outer:
                found = classify(outer, 60)
            assert str(found) == words, (words, found)
    assert classify(refused, 60).cannot_connect and not classify(TimeoutError(), 60).cannot_connect


def test_retry_after_is_honoured(server, tmp_path):
    texts = ["wait for me, I am positive [[429 retry-after=1]]"]
    results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings_for(server), tmp_path)
    assert results[0].label == "positive" and usage.retries == 1
    (entry,) = [e for e in server.stats()["bodies"].values() if e["faults"] == ["429"]]
    first, second = entry["times"]
    assert second - first >= 1.0


def test_consistency_over_five_samples(server, tmp_path):
    texts = make_texts(30, "consistency")
    settings = settings_for(server, samples=5, temperature=0.7)
    results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path / "a")
    assert usage.requests_sent == 150  # every sample is its own request (its own seed)
    for result in results:
        assert result.n_samples == 5 and result.n_failed_samples == 0
        shares = result.probabilities
        assert sum(shares) == pytest.approx(1.0) and all(round(s * 5, 9) % 1 == 0 for s in shares)
        # The label is a mode; a tie is a draw among the modes (teachers/chat/consistency.py).
        assert result.consistency == max(shares) and shares[LABELS.index(result.label)] == max(shares)
    assert any(r.consistency < 1 for r in results) and any(r.consistency == 1 for r in results)
    correct = sum(r.label == truth(t) for r, t in zip(results, texts, strict=True))
    assert correct >= 20  # each sample is right with probability 0.6; the mode more often
    # Reproducible: the same samples again from a fresh cache.
    again, _ = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path / "b")
    assert [outcome(r) for r in again] == [outcome(r) for r in results]


def test_budget_cap_stops_before_it_is_exceeded(server, tmp_path):
    texts = make_texts(40, "budget")
    # About 25 tokens a request at $1,000 per million: 2 to 3 cents a request, and up to 9 cents
    # reserved while one is in flight (the estimated prompt and max_tokens of answer).
    prices = {"gpt-4o-mini": {"input_per_million": 1000.0, "output_per_million": 1000.0}}
    settings = settings_for(server, budget_usd=0.6, prices=prices, concurrency=4)
    prompt = build_chat_prompt(CODEBOOK, LABELS, [])
    teacher = ChatEngine(settings, LABELS, prompt, ResponseCache(tmp_path), "unused", "gpt")
    with pytest.raises(BudgetExceeded, match="labelers.gpt.budget_usd"):
        asyncio.run(teacher.label(texts))
    usage = teacher.usage
    assert 0 < usage.dollars <= 0.6 and 5 < usage.responses < 40
    # Everything paid is kept, the requests in flight at the stop included.
    assert ResponseCache(tmp_path).size().entries == usage.responses == usage.requests_sent
    # A bigger budget goes on from there and pays only for the rest.
    settings = dataclasses.replace(settings, budget_usd=5.0)
    results, more = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")
    assert all(r.label is not None for r in results)
    assert more.cache_hits == usage.responses and more.requests_sent == 40 - usage.responses


def run_worker(spec: dict, tmp_path: Path, name: str) -> tuple[subprocess.Popen, Path]:
    spec_path = tmp_path / f"{name}.spec.json"
    spec_path.write_text(json.dumps(spec))
    out = tmp_path / f"{name}.out.json"
    process = subprocess.Popen(
        [sys.executable, str(WORKER), str(spec_path), str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return process, out


def test_a_killed_run_resumes_to_the_same_result_paying_only_what_was_in_flight(tmp_path):
    texts = make_texts(80, "kill")
    concurrency = 4
    with FakeOpenAIServer(latency=0.1) as slow:
        settings = settings_for(slow, concurrency=concurrency, timeout=5)
        cache_dir = tmp_path / "cache"
        spec = {"texts": texts, "labels": LABELS, "codebook": CODEBOOK, "settings": settings.to_dict()}
        process, _ = run_worker({**spec, "cache_dir": str(cache_dir)}, tmp_path, "killed")
        cache = ResponseCache(cache_dir)
        deadline = time.monotonic() + 60
        while cache.size().entries < 16 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        kept = cache.size().entries
        assert 16 <= kept < 80, (kept, process.stderr.read().decode()[-2000:])

        slow.next_epoch()  # epoch 1: the resumed run
        resumed, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, cache_dir)
        assert usage.cache_hits == kept and usage.requests_sent == 80 - kept

        slow.next_epoch()  # epoch 2: an uninterrupted run from an empty cache
        reference, _ = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path / "reference")
        assert [outcome(r) for r in resumed] == [outcome(r) for r in reference]

        bodies = slow.stats()["bodies"]
    assert len(bodies) == 80
    killed_or_resumed = [
        entry["successes"].get("0", 0) + entry["successes"].get("1", 0) for entry in bodies.values()
    ]
    assert min(killed_or_resumed) == 1 or killed_or_resumed.count(2) <= concurrency
    # Answered in the killed run and again after it: only what was in flight at the kill.
    assert killed_or_resumed.count(2) <= concurrency and max(killed_or_resumed) <= 2


def test_processes_running_at_once_share_one_cache(server, tmp_path):
    texts = make_texts(40, "shared")
    cache_dir = tmp_path / "cache"
    spec = {"texts": texts, "labels": LABELS, "codebook": CODEBOOK, "cache_dir": str(cache_dir)}
    settings = settings_for(server, concurrency=4)
    spec["settings"] = settings.to_dict()
    workers = [run_worker(spec, tmp_path, f"worker{i}") for i in range(2)]
    outputs = []
    for process, out in workers:
        assert process.wait(60) == 0, process.stderr.read().decode()[-2000:]
        outputs.append(json.loads(out.read_text()))
    first, second = ([(r["label"], r["probabilities"]) for r in o["results"]] for o in outputs)
    assert first == second and all(label == truth(t) for (label, _), t in zip(first, texts, strict=True))
    cache = ResponseCache(cache_dir)
    results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, cache_dir)
    assert usage.requests_sent == 0 and usage.cache_hits == 40 and cache.size().entries == 40
    assert not list(cache_dir.rglob("*.tmp"))
    # Two processes racing for the same text may both ask; the cache stays whole either way.
    sent = sum(o["usage"]["requests_sent"] for o in outputs)
    assert 40 <= sent <= 80 and os.path.isdir(cache_dir)


@pytest.mark.parametrize("mode", ["text", "logprobs", "json_schema", "choice"])
def test_spliced_bodies_and_keys_are_the_plain_encodings(tmp_path, mode):
    """Bodies and cache keys spliced around each text (teachers/openai/request_template.py) are byte
    for byte what encoding the whole request gives: the same keys as before, the same bodies."""
    settings = openai(model="gpt-4o-mini", mode=mode, samples=3, temperature=0.7, seed=5)
    teacher = ChatEngine(
        settings, LABELS, build_chat_prompt(CODEBOOK, LABELS, []), ResponseCache(tmp_path), "k", "gpt"
    )
    texts = ['a "quoted"\ttext\n', "émoji 🙂 and \\ slash", "\x00labeldistill-text\x00", ""]
    for text in texts:
        for sample, (payload, key) in enumerate(teacher._plan(text)):
            assert key == protocol.payload_key(payload, sample)
            body = teacher._templates[sample].body(payload["messages"][-1]["content"])
            assert body == json.dumps(payload, ensure_ascii=False).encode("utf-8")


def test_a_prompt_holding_the_placeholder_is_encoded_whole(tmp_path):
    # an example whose text is the placeholder itself: it occurs twice in the encoding
    prompt = build_chat_prompt(CODEBOOK, LABELS, [Example("\x00labeldistill-text\x00", LABELS[0])])
    settings = openai(model="gpt-4o-mini")
    teacher = ChatEngine(settings, LABELS, prompt, ResponseCache(tmp_path), "k", "gpt")
    assert teacher._templates == [None]
    ((payload, key),) = teacher._plan("some text")
    assert key == protocol.payload_key(payload, 0)


# -- a server that fails every request the same way ------------------------------------------


def window_of(concurrency: int, requests: int) -> int:
    return min(requests, max(openai_api.FIRST_WINDOW, concurrency))


@pytest.mark.parametrize(
    "faults, timeout, said",
    [("500", 0.5, "HTTP 500: The server had an error (fake)"), ("timeout", 0.2, "no answer within 0.2 s")],
)
def test_a_server_failing_every_request_the_same_way_stops_the_part_after_the_first(
    tmp_path, faults, timeout, said
):
    texts = make_texts(40, f"all-{faults}")
    with FakeOpenAIServer(fault_rate=1.0, faults=faults, hang=0.5) as failing:
        settings = settings_for(failing, concurrency=4, max_retries=3, timeout=timeout)
        with pytest.raises(LabelDistillError) as raised:
            label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")
        stats = failing.stats()
        url = failing.base_url
    window, attempts = window_of(4, 40), 3 + 1
    assert window == 8
    # The window's requests with all their retries and nothing after them, where the full
    # schedule would be 40 requests of 4 attempts.
    assert stats["total"] <= window * attempts and len(stats["bodies"]) == window
    assert str(raised.value) == (
        f"labeler gpt: the first 8 requests to {url} all failed the same way, after 4 attempts each "
        f"({said}); the part is stopped and nothing more was sent (answers received before are in "
        "the response cache); check the server or labelers.gpt.base_url, then rerun"
    )
    assert ResponseCache(tmp_path).size().entries == 0


def test_one_success_in_the_first_window_means_no_early_stop(tmp_path):
    texts = make_texts(40, "one-ok")
    texts[5] += " [[no faults]]"  # answered at once; every other request gets HTTP 500
    with FakeOpenAIServer(fault_rate=1.0, faults="500") as failing:
        settings = settings_for(failing, concurrency=4, max_retries=3)
        results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")
        sent = failing.stats()["total"]
    assert results[5].label == truth(texts[5])
    others = [r for i, r in enumerate(results) if i != 5]
    assert all(r.label is None and "gave up after 4 attempts: HTTP 500" in r.error for r in others)
    assert sent == 39 * 4 + 1 == usage.requests_sent and usage.failed_texts == 39


def test_failures_of_two_kinds_in_the_first_window_mean_no_early_stop(tmp_path):
    texts = make_texts(40, "mixed")
    texts[2] += " [[429 retry-after=0]]"  # its one attempt: 429; every other: 500
    with FakeOpenAIServer(fault_rate=1.0, faults="500") as failing:
        settings = settings_for(failing, concurrency=4, max_retries=0)
        results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")
        sent = failing.stats()["total"]
    assert "HTTP 429" in results[2].error and all(r.label is None for r in results)
    assert sent == 40 == usage.requests_sent  # as before the early stop: every text was tried


# -- 404 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("tail", ["", "/"])
def test_a_404_from_a_base_url_without_v1_names_the_url_with_it(server, tmp_path, tail):
    root = f"http://127.0.0.1:{server.port}"
    settings = settings_for(server, base_url=root + tail)
    with pytest.raises(LabelDistillError) as raised:
        label_with_api(make_texts(3, "no-v1"), None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")
    message = str(raised.value)
    assert "HTTP 404" in message and "\n" not in message
    assert message.endswith(
        f"; most OpenAI-compatible servers serve under /v1: set config key labelers.gpt.base_url to {root}/v1"
    )


def test_a_404_from_a_v1_base_url_says_the_model_or_path_is_not_there(server, tmp_path):
    url = f"http://127.0.0.1:{server.port}/elsewhere/v1"
    settings = settings_for(server, base_url=url)
    with pytest.raises(LabelDistillError) as raised:
        label_with_api(make_texts(3, "v1-404"), None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")
    message = str(raised.value)
    assert message.startswith(f"labeler gpt: the server at {url} refused the request with HTTP 404")
    assert message.endswith(
        "; no such model or path: check config keys labelers.gpt.model and labelers.gpt.base_url"
    )
    assert "serve under /v1" not in message and "\n" not in message
