"""The `openai` teacher's Batch API mode (`api: batch`) against a real HTTP server on 127.0.0.1.

tests/fake_openai_server.py speaks /v1/files and /v1/batches as OpenAI does (upload, create,
list, retrieve, cancel, output and error files), with injected failures: per-line errors, a
batch that fails validation, one that expires half done, a create whose answer is lost, slow
batches. Per request (its canonical body) it counts how often it was submitted in a batch and
answered in a batch or by the chat endpoint: "paid twice" is a request answered more than once.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fake_openai_server import FakeOpenAIServer
from labeler_settings import openai
from sentiment_texts import CODEBOOK, LABELS, WORKER, make_texts, truth

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.accounting import BudgetExceeded, find_price
from labeldistill.teachers.chat.response_cache import ResponseCache
from labeldistill.teachers.openai.batch_ledger import DONE_DIR, LEDGER_DIR, BatchLedger
from labeldistill.teachers.openai.teacher import estimate_api_cost, label_with_api
from labeldistill.teachers.settings import OpenAISettings, check_labeler


def settings_for(server: FakeOpenAIServer, **extra) -> OpenAISettings:
    return openai(
        **{
            "model": "gpt-4o-mini",
            "base_url": server.base_url,
            "api_key_env": "",
            "api": "batch",
            "concurrency": 8,
            "timeout": 5,
            "max_retries": 3,
            "backoff_base": 0.01,
            "backoff_cap": 0.05,
            "batch_poll_seconds": 0.05,
            "batch_poll_cap": 0.2,
            "batch_deadline_hours": 60 / 3600,
            "progress": False,
            **extra,
        }
    )


def paid(stats: dict) -> dict[str, int]:
    """Per request: the answers it was given, in batches and by the chat endpoint together."""
    return {
        request: counts["batch_answered"] + counts["chat_answered"]
        for request, counts in stats["requests"].items()
    }


def ledger_files(cache_dir: Path) -> tuple[list[Path], list[Path]]:
    """(open entries, closed entries) of the batch ledger."""
    root = cache_dir / LEDGER_DIR
    return sorted(root.glob("*.json")), sorted((root / DONE_DIR).glob("*.json"))


def test_requests_go_in_batches_split_at_the_limits_and_fill_the_cache(tmp_path):
    texts = make_texts(30, "split")
    # The server refuses (fails) any batch over its limits: the client must split to them.
    with FakeOpenAIServer(batch_latency=0.3, batch_max_requests=8, batch_max_bytes=6000) as server:
        settings = settings_for(server, batch_max_requests=8, batch_max_bytes=6000)
        results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")
        stats = server.stats()
        # A later run, sync or batch, sends nothing: the answers are in the same cache.
        again, usage_sync = label_with_api(
            texts, None, CODEBOOK, LABELS, [], dataclasses.replace(settings, api="sync"), tmp_path, "gpt"
        )
        _, usage_batch = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")
        assert server.stats()["uploads"] == stats["uploads"]

    assert [r.label for r in results] == [truth(t) for t in texts]
    assert all(
        r.cache_hits == 0 and r.provenance["model_reported"] == "gpt-4o-mini-fake-2025" for r in results
    )
    batches = stats["batches"]
    sizes = [batch["requests"] for batch in batches]
    assert len(batches) == usage.batches >= 30 / 8 and sum(sizes) == 30 and max(sizes) <= 8
    assert {batch["status"] for batch in batches} == {"completed"}
    assert usage.batch_requests == usage.requests_sent == usage.responses == 30
    assert usage.cache_hits == 0 and usage.batch_line_errors == 0 and usage.dollars > 0
    assert stats["total"] == 0  # no chat request
    assert sorted(paid(stats).values()) == [1] * 30
    assert usage_sync.requests_sent == 0 and usage_sync.cache_hits == 30
    assert usage_batch.requests_sent == 0 and usage_batch.batches == 0
    assert [r.label for r in again] == [r.label for r in results]
    open_entries, closed = ledger_files(tmp_path)
    assert not open_entries and len(closed) == len(batches)
    entry = json.loads(closed[0].read_text())
    assert entry["status"] == "completed" and entry["batch_id"] in {b["id"] for b in batches}
    assert set(entry) >= {"input_file_id", "keys", "created", "base_url"}
    assert all(key in ResponseCache(tmp_path) for key in entry["keys"])


def test_batch_prices_in_the_usage_and_the_estimate(tmp_path):
    texts = make_texts(9, "price")
    sync_price = find_price("gpt-4o-mini")
    batch_price = find_price("gpt-4o-mini", batch=True)
    assert batch_price.input_per_million == sync_price.input_per_million / 2
    assert batch_price.output_per_million == sync_price.output_per_million / 2
    assert batch_price.cached_input_per_million == sync_price.cached_input_per_million / 2
    own = {"my-model": {"input_per_million": 1.0, "output_per_million": 2.0, "batch_input_per_million": 0.7}}
    assert find_price("my-model", own, batch=True).input_per_million == 0.7
    assert find_price("my-model", own, batch=True).output_per_million == 1.0

    with FakeOpenAIServer(batch_latency=0.1) as server:
        settings = settings_for(server)
        batch_estimate = estimate_api_cost(texts, CODEBOOK, LABELS, [], settings, tmp_path)
        sync_estimate = estimate_api_cost(
            texts, CODEBOOK, LABELS, [], dataclasses.replace(settings, api="sync"), tmp_path
        )
        _, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path)
    assert batch_estimate.api == "batch" and sync_estimate.api == "sync"
    assert batch_estimate.dollars_max == pytest.approx(sync_estimate.dollars_max / 2)
    assert usage.batch_price == {
        "input_per_million": 0.075,
        "output_per_million": 0.3,
        "cached_input_per_million": 0.0375,
    }
    # The lines after the first read the fake's prompt cache: billed at the cached rate.
    assert 0 < usage.prompt_cache_tokens < usage.input_tokens
    assert usage.dollars == pytest.approx(
        batch_price.cost(usage.input_tokens, usage.output_tokens, usage.prompt_cache_tokens)
    )
    assert usage.dollars <= batch_estimate.dollars_max


def test_the_budget_counts_batch_prices_and_submits_only_what_it_covers(tmp_path):
    texts = make_texts(20, "budget")
    with FakeOpenAIServer(batch_latency=0.1) as server:
        settings = settings_for(server, max_tokens=1000)
        estimate = estimate_api_cost(texts, CODEBOOK, LABELS, [], settings, tmp_path)
        # Enough for about half the requests at batch prices (a quarter at sync prices).
        settings = dataclasses.replace(settings, budget_usd=estimate.dollars_max / 2)
        with pytest.raises(BudgetExceeded, match="raise the budget and run again") as raised:
            label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")
        submitted = sum(batch["requests"] for batch in server.stats()["batches"])
        assert 7 <= submitted <= 10, submitted
        assert ResponseCache(tmp_path).size().entries == submitted
        assert "\n" not in str(raised.value) and "labelers.gpt.budget_usd" in str(raised.value)
        settings = dataclasses.replace(settings, budget_usd=estimate.dollars_max)
        results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")
        stats = server.stats()
    assert [r.label for r in results] == [truth(t) for t in texts]
    assert usage.cache_hits == submitted and usage.batch_requests == 20 - submitted
    assert sorted(paid(stats).values()) == [1] * 20


def test_line_errors_are_sent_through_the_chat_endpoint_once(tmp_path, caplog):
    texts = make_texts(40, "lines")
    caplog.set_level(logging.INFO)
    with FakeOpenAIServer(batch_latency=0.2, batch_line_error_rate=0.25, seed=5) as server:
        results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings_for(server), tmp_path)
        stats = server.stats()
        counts = paid(stats)
    assert [r.label for r in results] == [truth(t) for t in texts]
    chat = sum(entry["chat_answered"] for entry in stats["requests"].values())
    assert 3 <= usage.batch_line_errors == chat <= 20
    assert usage.requests_sent == 40 + chat and usage.responses == 40
    assert sorted(counts.values()) == [1] * 40  # each paid once: in a batch or by the chat endpoint
    assert "came back with an error" in caplog.text and "HTTP 500" in caplog.text
    # Sync-price dollars for the retried lines, batch prices for the rest.
    assert usage.price["input_per_million"] == 2 * usage.batch_price["input_per_million"]


def test_an_expired_batch_keeps_its_answers_and_submits_the_rest_again(tmp_path):
    texts = make_texts(20, "expired")
    with FakeOpenAIServer(batch_latency=0.4, batch_expire="0") as server:
        results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings_for(server), tmp_path)
        stats = server.stats()
    assert [r.label for r in results] == [truth(t) for t in texts]
    assert [(b["status"], b["requests"]) for b in stats["batches"]] == [("expired", 20), ("completed", 10)]
    assert usage.batches == 2 and usage.batch_requests == 30 and usage.responses == 20
    assert stats["total"] == 0  # nothing through the chat endpoint
    assert sorted(paid(stats).values()) == [1] * 20


def test_a_failed_batch_stops_the_run_with_one_line_and_a_rerun_submits_it_anew(tmp_path):
    texts = make_texts(12, "failed")
    with FakeOpenAIServer(batch_latency=0.2, batch_fail="0") as server:
        settings = settings_for(server)
        with pytest.raises(LabelDistillError) as raised:
            label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")
        message = str(raised.value)
        assert "\n" not in message and "failed batch batch_00000" in message
        assert "token_limit_exceeded" in message and "labelers.gpt.batch_max_requests" in message
        assert "none of its 12 requests was run or paid" in message
        assert ledger_files(tmp_path)[0] == []  # closed: nothing left to wait for
        results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")
        stats = server.stats()
    assert [r.label for r in results] == [truth(t) for t in texts]
    assert usage.batches == 1 and sorted(paid(stats).values()) == [1] * 12


def test_a_cancelled_batch_keeps_its_answers_and_a_rerun_submits_the_rest(tmp_path):
    import openai

    texts = make_texts(20, "cancelled")
    with FakeOpenAIServer(batch_latency=1.0) as server:
        settings = settings_for(server)
        raised: list[BaseException] = []

        def run() -> None:
            try:
                label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")
            except BaseException as error:
                raised.append(error)

        worker = threading.Thread(target=run)
        worker.start()
        client = openai.OpenAI(api_key="x", base_url=server.base_url)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            listed = client.batches.list().data
            if listed and listed[0].request_counts and listed[0].request_counts.completed >= 6:
                client.batches.cancel(listed[0].id)
                break
            time.sleep(0.05)
        worker.join(20)
        assert len(raised) == 1 and isinstance(raised[0], LabelDistillError), raised
        message = str(raised[0])
        assert "was cancelled at the provider" in message and "run the same command again" in message
        kept = ResponseCache(tmp_path).size().entries
        assert 6 <= kept < 20 and f"its {kept} answers are in the response cache" in message
        results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")
        stats = server.stats()
    assert [r.label for r in results] == [truth(t) for t in texts]
    assert usage.cache_hits == kept and usage.batch_requests == 20 - kept
    assert sorted(paid(stats).values()) == [1] * 20


def test_past_the_deadline_the_job_stops_with_one_line_and_a_rerun_resumes(tmp_path):
    texts = make_texts(10, "deadline")
    with FakeOpenAIServer(batch_latency=2.0) as server:
        settings = settings_for(server, batch_deadline_hours=0.3 / 3600)
        started = time.monotonic()
        with pytest.raises(LabelDistillError) as raised:
            label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")
        assert time.monotonic() - started < 5
        message = str(raised.value)
        batch_id = server.stats()["batches"][0]["id"]
        assert "\n" not in message and "1 batch not finished after 8.33333e-05 h" in message
        assert batch_id in message and "labelers.gpt.batch_deadline_hours" in message
        assert "run the same command again to resume waiting for them" in message
        (entry,) = [json.loads(path.read_text()) for path in ledger_files(tmp_path)[0]]
        assert entry["batch_id"] == batch_id and entry["status"] in ("validating", "in_progress")

        results, usage = label_with_api(
            texts,
            None,
            CODEBOOK,
            LABELS,
            [],
            dataclasses.replace(settings, batch_deadline_hours=0.01),
            tmp_path,
            "gpt",
        )
        stats = server.stats()
    assert [r.label for r in results] == [truth(t) for t in texts]
    assert usage.batches == 0 and usage.responses == 10  # resumed, not submitted
    assert stats["uploads"] == 1 and len(stats["batches"]) == 1
    assert sorted(paid(stats).values()) == [1] * 10


def test_polling_backs_off_up_to_the_cap(tmp_path, monkeypatch):
    from labeldistill.teachers.openai import batch as openai_batch

    waits: list[float] = []
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(openai_batch.time, "sleep", sleep)
    with FakeOpenAIServer(batch_latency=1.0) as server:
        settings = settings_for(server, batch_poll_seconds=0.02, batch_poll_cap=0.16)
        label_with_api(make_texts(3, "backoff"), None, CODEBOOK, LABELS, [], settings, tmp_path)
    assert waits[:4] == pytest.approx([0.02, 0.04, 0.08, 0.16])
    assert max(waits) == pytest.approx(0.16) and len(waits) < 20


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


def test_a_killed_job_resumes_polling_and_pays_nothing_twice(tmp_path):
    """The done-when of the issue: kill a job after it created batches, rerun, count."""
    texts = make_texts(40, "kill")
    cache_dir = tmp_path / "cache"
    # Each upload takes 0.3 s: the job is killed between its second batch and its fourth.
    with FakeOpenAIServer(batch_latency=3.0, upload_latency=0.3) as server:
        settings = settings_for(server, batch_max_requests=10)
        spec = {"texts": texts, "labels": LABELS, "codebook": CODEBOOK, "settings": settings.to_dict()}
        process, _ = run_worker({**spec, "cache_dir": str(cache_dir)}, tmp_path, "killed")
        ledger = BatchLedger(cache_dir)
        deadline = time.monotonic() + 30
        created: list = []
        while time.monotonic() < deadline and process.poll() is None:
            created = [entry for entry in ledger.open_entries(server.base_url) if entry.batch_id]
            if len(created) >= 2:
                break
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
        before = server.stats()
        assert len(created) >= 2 and len(before["batches"]) < 4, process.stderr.read().decode()[-2000:]
        assert ResponseCache(cache_dir).size().entries == 0  # killed while it waited

        results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, cache_dir, "gpt")
        stats = server.stats()
        counts = paid(stats)
    assert [r.label for r in results] == [truth(t) for t in texts]
    submitted = [entry["batch_submitted"] for entry in stats["requests"].values()]
    resumed = len(before["batches"])
    assert len(submitted) == 40 and set(submitted) == {1}, submitted  # every request submitted once
    assert sorted(counts.values()) == [1] * 40  # paid twice: 0
    assert len(stats["batches"]) == 4 and usage.batches == 4 - resumed
    assert usage.responses == 40 and stats["total"] == 0
    print(
        f"\nkill/resume: {resumed} batches resumed, {4 - resumed} submitted by the rerun; requests "
        f"submitted per key: {sorted(set(submitted))}; paid twice: {sum(c > 1 for c in counts.values())}"
    )


def test_a_batch_created_but_not_recorded_is_found_not_made_again(tmp_path, monkeypatch):
    texts = make_texts(10, "unrecorded")
    original = BatchLedger.write

    def killed_after_create(self, entry):
        if entry.batch_id is not None:
            raise KeyboardInterrupt  # as a kill between the create and the ledger's record
        original(self, entry)

    with FakeOpenAIServer(batch_latency=0.3) as server:
        settings = settings_for(server)
        monkeypatch.setattr(BatchLedger, "write", killed_after_create)
        with pytest.raises(KeyboardInterrupt):
            label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path)
        monkeypatch.setattr(BatchLedger, "write", original)
        (entry_file,) = ledger_files(tmp_path)[0]
        assert json.loads(entry_file.read_text())["batch_id"] is None
        results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path)
        stats = server.stats()
    assert [r.label for r in results] == [truth(t) for t in texts]
    assert len(stats["batches"]) == 1 and stats["uploads"] == 1 and usage.batches == 0
    assert sorted(paid(stats).values()) == [1] * 10


def test_a_create_whose_answer_is_lost_is_looked_up_before_it_is_tried_again(tmp_path):
    texts = make_texts(10, "dropped")
    with FakeOpenAIServer(batch_latency=0.2, batch_drop_create="0") as server:
        results, usage = label_with_api(texts, None, CODEBOOK, LABELS, [], settings_for(server), tmp_path)
        stats = server.stats()
    assert [r.label for r in results] == [truth(t) for t in texts]
    assert len(stats["batches"]) == 1 and usage.batches == 1
    assert sorted(paid(stats).values()) == [1] * 10


def test_the_key_reaches_no_file_and_no_message(tmp_path, monkeypatch, caplog, capfd):
    secret = "sk-test-BATCH-SECRET-42"
    monkeypatch.setenv("FAKE_TEST_KEY", secret)
    caplog.set_level(logging.DEBUG)
    texts = make_texts(6, "secret")
    with FakeOpenAIServer(batch_latency=0.1, api_key=secret, batch_line_error_rate=0.3) as keyed:
        settings = settings_for(keyed, api_key_env="FAKE_TEST_KEY")
        results, _ = label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path / "good")
        assert all(r.label is not None for r in results)
        monkeypatch.setenv("FAKE_TEST_KEY", "sk-test-WRONG-KEY-7")
        with pytest.raises(LabelDistillError) as raised:
            label_with_api(texts, None, CODEBOOK, LABELS, [], settings, tmp_path / "bad", "gpt")
    message = str(raised.value)
    assert "HTTP 401" in message and "the batch input file" in message and "\n" not in message
    assert "sk-test-WRONG-KEY-7" not in message
    out, err = capfd.readouterr()
    for text in (caplog.text, out, err):
        assert secret not in text and "sk-test-WRONG-KEY-7" not in text
    for file in tmp_path.rglob("*"):
        if file.is_file():
            assert secret not in file.read_text(errors="replace")


def test_a_server_without_the_batch_api_says_to_use_sync(tmp_path):
    with FakeOpenAIServer() as server:
        settings = settings_for(server, base_url=server.base_url.replace("/v1", "/v2"))
        with pytest.raises(LabelDistillError, match=r"HTTP 404.*labelers.gpt.api: sync"):
            label_with_api(make_texts(2, "nobatch"), None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")


def test_a_request_over_the_byte_limit_is_a_config_error(tmp_path):
    with FakeOpenAIServer() as server:
        settings = settings_for(server, batch_max_bytes=100)
        with pytest.raises(LabelDistillError, match="labelers.gpt.batch_max_bytes: one request takes"):
            label_with_api(make_texts(2, "big"), None, CODEBOOK, LABELS, [], settings, tmp_path, "gpt")
        assert server.stats()["uploads"] == 0


def test_batch_settings_are_declared_and_checked():
    block = {"backend": "openai", "model": "gpt-4o-mini", "api": "batch"}
    resolved = check_labeler("gpt", block)
    assert resolved["batch_max_requests"] == 50_000 and resolved["batch_max_bytes"] == 200_000_000
    assert resolved["batch_deadline_hours"] == 25.0 and resolved["batch_poll_cap"] == 600.0
    assert check_labeler("gpt", {"backend": "openai", "model": "m"})["api"] == "sync"
    with pytest.raises(LabelDistillError, match=r"labelers.gpt.api: 'bulk' is not valid"):
        check_labeler("gpt", {**block, "api": "bulk"})
    server = {"command": "vllm serve m", "startup_timeout": 60}
    with pytest.raises(LabelDistillError, match="labelers.gpt.api: must be sync with server"):
        check_labeler("gpt", {**block, "base_url": "http://127.0.0.1:8000/v1", "server": server})
