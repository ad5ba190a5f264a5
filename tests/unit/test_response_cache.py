"""The response cache: keys, atomic entries, torn files, sharing between processes."""

from __future__ import annotations

import json
import logging
import multiprocessing

from labeldistill.teachers.response_cache import ResponseCache, default_cache_dir, request_key

MESSAGES = [{"role": "system", "content": "codebook"}, {"role": "user", "content": "a text"}]
SAMPLING = {"temperature": 0.0, "max_tokens": 20}


def test_key_depends_on_everything_that_changes_the_answer():
    base = request_key("openai", "m", MESSAGES, SAMPLING, 0)
    assert base == request_key(
        "openai", "m", [dict(m) for m in MESSAGES], dict(reversed(SAMPLING.items())), 0
    )
    variants = [
        request_key("vllm", "m", MESSAGES, SAMPLING, 0),
        request_key("openai", "m2", MESSAGES, SAMPLING, 0),
        request_key("openai", "m", MESSAGES[:1], SAMPLING, 0),
        request_key("openai", "m", MESSAGES, {**SAMPLING, "temperature": 0.7}, 0),
        request_key("openai", "m", MESSAGES, {**SAMPLING, "logprobs": True}, 0),
        request_key("openai", "m", MESSAGES, SAMPLING, 1),
    ]
    assert len({base, *variants}) == len(variants) + 1


def test_put_get_counts_hits_and_misses(tmp_path):
    cache = ResponseCache(tmp_path)
    key = request_key("openai", "m", MESSAGES, SAMPLING, 0)
    assert cache.get(key) is None
    cache.put(key, {"content": "yes", "usage": {"input_tokens": 3, "output_tokens": 1}})
    assert cache.get(key)["content"] == "yes"
    assert (cache.hits, cache.misses) == (1, 1)
    assert cache.path(key) == tmp_path / key[:2] / f"{key}.json"
    assert not list(tmp_path.rglob("*.tmp"))
    assert cache.size().entries == 1 and cache.size().bytes > 0
    assert cache.clear() == 1 and cache.size().entries == 0 and cache.get(key) is None


def test_torn_or_foreign_entry_is_a_logged_miss(tmp_path, caplog):
    cache = ResponseCache(tmp_path)
    key = request_key("openai", "m", MESSAGES, SAMPLING, 0)
    cache.put(key, {"content": "yes"})
    whole = cache.path(key).read_text()
    cache.path(key).write_text(whole[: len(whole) // 2])
    with caplog.at_level(logging.WARNING):
        assert cache.get(key) is None
    assert "unreadable" in caplog.text and cache.corrupt == 1
    other = request_key("openai", "m", MESSAGES, SAMPLING, 5)
    cache.path(key).write_text(json.dumps({"key": other, "response": {"content": "no"}}))
    assert cache.get(key) is None and cache.corrupt == 2
    cache.put(key, {"content": "yes"})  # a rerun overwrites it
    assert cache.get(key) == {"content": "yes"}


def test_default_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LABELDISTILL_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    assert ResponseCache().root == tmp_path / "c"
    monkeypatch.delenv("LABELDISTILL_CACHE")
    assert default_cache_dir().parts[-3:] == (".cache", "labeldistill", "responses")


def _hammer(root: str, worker: int) -> None:
    cache = ResponseCache(root)
    for round_ in range(30):
        for i in range(10):
            key = request_key("openai", "m", MESSAGES, SAMPLING, i)
            cache.put(key, {"content": f"answer {i}", "writer": worker, "round": round_})
            entry = cache.get(key)
            assert entry is None or entry["content"] == f"answer {i}"


def test_processes_writing_the_same_keys_never_leave_a_torn_entry(tmp_path):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_hammer, args=(str(tmp_path), w)) for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    cache = ResponseCache(tmp_path)
    for i in range(10):
        assert cache.get(request_key("openai", "m", MESSAGES, SAMPLING, i))["content"] == f"answer {i}"
    assert cache.corrupt == 0 and cache.size().entries == 10
    assert not list(tmp_path.rglob("*.tmp"))
