"""The response cache: keys, segments shared by processes, torn records, the one-file layout."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fake_openai_server import FakeOpenAIServer
from labeler_settings import openai

from labeldistill.teachers.chat import cache_segments
from labeldistill.teachers.chat.response_cache import (
    ResponseCache,
    canonical_json,
    default_cache_dir,
    request_key,
)
from labeldistill.teachers.openai.teacher import label_with_api

MESSAGES = [{"role": "system", "content": "codebook"}, {"role": "user", "content": "a text"}]
SAMPLING = {"temperature": 0.0, "max_tokens": 20}
LABELS = ["positive", "negative", "neutral"]


def key_of(i: int) -> str:
    return request_key("openai", "m", MESSAGES, SAMPLING, i)


def segments(root: Path) -> list[Path]:
    return sorted((root / "segments").glob("*.jsonl"))


def write_legacy_entry(root: Path, key: str, response: dict, request: dict | None = None) -> Path:
    """An entry as versions before segments wrote it: one file, `<root>/<key[:2]>/<key>.json`."""
    path = root / key[:2] / f"{key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(canonical_json({"key": key, "request": request, "response": response}))
    return path


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
    key = key_of(0)
    assert cache.get(key) is None and key not in cache
    cache.put(key, {"content": "yes\nno", "usage": {"input_tokens": 3, "output_tokens": 1}})
    assert cache.get(key)["content"] == "yes\nno" and key in cache
    assert (cache.hits, cache.misses) == (1, 1)
    # One record, one line, in a segment of this cache's own; nothing in the one-file layout.
    (segment,) = segments(tmp_path)
    assert segment.read_bytes().count(b"\n") == 1 and not cache.legacy_path(key).exists()
    cache.put(key, {"content": "yes again"})  # a second answer for a key: the latest is read
    assert cache.get(key) == {"content": "yes again"}
    assert cache.size().entries == 1 and cache.size().bytes == segment.stat().st_size
    assert cache.clear() == 1 and cache.size().entries == 0 and cache.get(key) is None
    cache.put(key, {"content": "after clear"})  # a new segment: the old one is gone
    assert ResponseCache(tmp_path).get(key) == {"content": "after clear"}


def test_a_rerun_finds_everything(tmp_path):
    first = ResponseCache(tmp_path)
    keys = [key_of(i) for i in range(50)]
    for i, key in enumerate(keys):
        first.put(key, {"content": f"answer {i}"}, {"model": "m", "text": f"text {i}"})
    rerun = ResponseCache(tmp_path)  # while the first is still open, and after it closed
    assert rerun.get_many(keys + keys[:3]) == {key: {"content": f"answer {i}"} for i, key in enumerate(keys)}
    assert (rerun.hits, rerun.misses) == (50, 0)
    first.close()
    again = ResponseCache(tmp_path)
    assert all(again.get(key) == {"content": f"answer {i}"} for i, key in enumerate(keys))
    assert all(key in ResponseCache(tmp_path) for key in keys) and again.corrupt == 0


def test_a_reader_sees_what_another_writer_flushed_after_its_last_scan(tmp_path):
    reader, writer = ResponseCache(tmp_path), ResponseCache(tmp_path)
    writer.put(key_of(0), {"content": "first"})
    assert reader.get(key_of(0)) == {"content": "first"}  # the reader has scanned that segment
    assert reader.get(key_of(1)) is None
    writer.put(key_of(1), {"content": "second"})  # new bytes of a segment scanned before
    ResponseCache(tmp_path).put(key_of(2), {"content": "third"})  # a new segment
    assert reader.get(key_of(1)) == {"content": "second"} and key_of(2) in reader
    assert (reader.hits, reader.misses) == (2, 1)


def test_a_segment_created_within_the_timestamp_tick_of_the_last_listing_is_found(tmp_path):
    ResponseCache(tmp_path).put(key_of(0), {"content": "first"})
    reader = ResponseCache(tmp_path)
    assert reader.get(key_of(0)) == {"content": "first"}  # lists the directory
    listed = os.stat(tmp_path / "segments").st_mtime_ns
    ResponseCache(tmp_path).put(key_of(1), {"content": "second"})  # a new segment...
    os.utime(tmp_path / "segments", ns=(listed, listed))  # ...on a file system of coarse ticks
    assert reader.get(key_of(1)) == {"content": "second"}


def test_a_closed_segment_is_sealed_and_a_later_put_opens_another(tmp_path):
    cache = ResponseCache(tmp_path)
    cache.put(key_of(0), {"content": "before"})
    reader = ResponseCache(tmp_path)
    assert reader.get(key_of(0)) == {"content": "before"}
    cache.close()  # also what garbage collection and the interpreter's exit do
    assert segments(tmp_path)[0].read_bytes().endswith(b'\n{"sealed":true}\n')
    cache.put(key_of(1), {"content": "after"})
    assert len(segments(tmp_path)) == 2
    assert reader.get(key_of(1)) == {"content": "after"} and reader.corrupt == 0
    assert reader.size().entries == 2


def test_a_torn_last_record_is_skipped_and_logged(tmp_path, caplog):
    cache = ResponseCache(tmp_path)
    for i in range(3):
        cache.put(key_of(i), {"content": f"answer {i}"})
    cache.close()
    (segment,) = segments(tmp_path)
    whole = segment.read_bytes()
    segment.write_bytes(whole[: whole.rindex(b'"content"')])  # a writer killed mid-line
    reader = ResponseCache(tmp_path)
    with caplog.at_level(logging.WARNING):
        assert reader.get_many([key_of(i) for i in range(3)]) == {
            key_of(i): {"content": f"answer {i}"} for i in range(2)
        }
    assert "incomplete record" in caplog.text and reader.corrupt == 0
    reader.put(key_of(2), {"content": "answer 2"})  # the rerun pays for it once more
    assert ResponseCache(tmp_path).get_many([key_of(i) for i in range(3)]) == {
        key_of(i): {"content": f"answer {i}"} for i in range(3)
    }
    assert ResponseCache(tmp_path).size().entries == 3


def test_damaged_records_are_logged_misses_and_the_rest_still_read(tmp_path, caplog):
    cache = ResponseCache(tmp_path)
    for i in range(4):
        cache.put(key_of(i), {"content": f"answer {i}"})
    cache.close()
    (segment,) = segments(tmp_path)
    lines = segment.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"content"', b'"content', 1)  # its JSON no longer parses
    lines[2] = b"\0" * 40 + b"\n"  # pages a crashed node never wrote
    segment.write_bytes(b"".join(lines))
    reader = ResponseCache(tmp_path)
    with caplog.at_level(logging.WARNING):
        assert reader.get(key_of(0)) == {"content": "answer 0"}
        assert reader.get(key_of(1)) is None and reader.get(key_of(2)) is None
        assert reader.get(key_of(3)) == {"content": "answer 3"}
    assert reader.corrupt == 2 and "unreadable" in caplog.text
    reader.put(key_of(1), {"content": "answer 1"})  # a rerun writes it again
    assert reader.get(key_of(1)) == {"content": "answer 1"}


def test_records_longer_than_a_scan_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_segments, "SCAN_CHUNK", 64)
    cache = ResponseCache(tmp_path)
    for i in range(5):
        cache.put(key_of(i), {"content": "x" * (100 * i)})
    assert ResponseCache(tmp_path).get_many(key_of(i) for i in range(5)) == {
        key_of(i): {"content": "x" * (100 * i)} for i in range(5)
    }


def test_entries_of_the_one_file_layout_still_hit(tmp_path, caplog):
    old = write_legacy_entry(tmp_path, key_of(0), {"content": "old"}, {"model": "m"})
    write_legacy_entry(tmp_path, key_of(1), {"content": "old too"})
    cache = ResponseCache(tmp_path)
    assert cache.get(key_of(0)) == {"content": "old"} and key_of(1) in cache
    assert cache.get_many([key_of(1), key_of(2)]) == {key_of(1): {"content": "old too"}}
    assert cache.legacy_path(key_of(0)) == old
    cache.put(key_of(1), {"content": "new"})  # segments come first; the old file stays
    cache.put(key_of(2), {"content": "new"})
    assert cache.get(key_of(1)) == {"content": "new"} and old.exists()
    assert cache.size().entries == 3 and cache.size().bytes > old.stat().st_size
    # A torn or foreign old entry is a logged miss, as it always was.
    whole = old.read_text()
    old.write_text(whole[: len(whole) // 2])
    with caplog.at_level(logging.WARNING):
        assert ResponseCache(tmp_path).get(key_of(0)) is None
    assert "unreadable" in caplog.text
    old.write_text(json.dumps({"key": key_of(5), "response": {"content": "no"}}))
    foreign = ResponseCache(tmp_path)
    assert foreign.get(key_of(0)) is None and foreign.corrupt == 1
    assert cache.clear() == 3 and not any(tmp_path.iterdir())


def test_a_rerun_over_a_cache_of_the_one_file_layout_sends_nothing(tmp_path):
    texts = [f"legacy text {i} is {LABELS[i % 3]} overall" for i in range(12)]
    with FakeOpenAIServer(latency=0.0) as server:
        settings = openai(
            model="gpt-4o-mini", api_key_env="", concurrency=4, progress=False, base_url=server.base_url
        )
        first, _ = label_with_api(texts, None, "Sentiment.", LABELS, [], settings, tmp_path)
        # The same answers as an earlier version kept them: one file each, no segments.
        for segment in segments(tmp_path):
            for line in segment.read_text().splitlines():
                entry = json.loads(line)
                if "key" in entry:  # not the seal
                    write_legacy_entry(tmp_path, entry["key"], entry["response"], entry["request"])
        shutil.rmtree(tmp_path / "segments")
        asked = len(server.stats()["bodies"])
        again, usage = label_with_api(texts, None, "Sentiment.", LABELS, [], settings, tmp_path)
        assert len(server.stats()["bodies"]) == asked == 12
    assert usage.requests_sent == 0 and usage.cache_hits == 12
    assert [r.label for r in again] == [r.label for r in first]


def test_an_entry_never_holds_a_credential(tmp_path):
    cache = ResponseCache(tmp_path)
    for request, response in [
        ({"model": "m", "headers": {"x": "y"}}, {"content": "a"}),
        ({"model": "m", "settings": {"api_key": "sk-secret"}}, {"content": "a"}),
        ({"model": "m"}, {"content": "a", "Authorization": "Bearer sk-secret"}),
    ]:
        with pytest.raises(ValueError, match="credential"):
            cache.put(key_of(0), response, request)
    with pytest.raises(ValueError, match="sha256"):
        cache.put("not a key", {"content": "a"})
    assert not segments(tmp_path) and key_of(0) not in cache


def _write_then_read_all(root: str, worker: int, workers: int, barrier) -> None:
    cache = ResponseCache(root)
    shared = [key_of(1000 + i) for i in range(10)]  # every worker writes these
    own = [key_of(worker * 100 + i) for i in range(30)]
    assert cache.get(own[0]) is None
    for round_ in range(3):
        for key in shared:
            cache.put(key, {"content": f"shared {key[:6]}", "writer": worker, "round": round_})
            entry = cache.get(key)
            assert entry is not None and entry["content"] == f"shared {key[:6]}"
    for key in own:
        cache.put(key, {"content": f"own {key[:6]}"})
    barrier.wait(60)
    # Everything the others flushed before the barrier, found by the misses' scans.
    for other in range(workers):
        for i in range(30):
            key = key_of(other * 100 + i)
            assert cache.get(key) == {"content": f"own {key[:6]}"}, (worker, other, i)
    assert all(cache.get(key)["content"] == f"shared {key[:6]}" for key in shared)
    assert cache.corrupt == 0


def test_processes_writing_and_reading_overlapping_keys_see_every_flushed_entry(tmp_path):
    context = multiprocessing.get_context("spawn")
    workers = 4
    barrier = context.Barrier(workers)
    processes = [
        context.Process(target=_write_then_read_all, args=(str(tmp_path), w, workers, barrier))
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    assert len(segments(tmp_path)) == workers  # one writer per segment
    cache = ResponseCache(tmp_path)
    assert cache.size().entries == workers * 30 + 10 and cache.corrupt == 0
    for segment in segments(tmp_path):  # whole records, sealed when the worker ended
        *records, seal = segment.read_text().splitlines()
        assert all(json.loads(line)["response"] for line in records) and seal == '{"sealed":true}'


def test_threads_share_one_cache(tmp_path):
    expected = {key_of(i): {"content": f"answer {i} " * (1 + i % 7)} for i in range(1600)}
    items = list(expected.items())
    cache = ResponseCache(tmp_path)

    def write(worker: int) -> None:  # os.write lets the other threads run meanwhile
        for key, response in items[worker::8]:
            cache.put(key, response)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns between any two bytecodes: races show
    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(write, range(8)))
    finally:
        sys.setswitchinterval(interval)
    assert cache.get_many(expected) == expected and cache.corrupt == 0
    assert ResponseCache(tmp_path).get_many(expected) == expected


def _put_in_a_fork(cache: ResponseCache) -> None:
    cache.put(key_of(2), {"content": "from the child"})


def test_a_forked_child_writes_a_segment_of_its_own(tmp_path):
    cache = ResponseCache(tmp_path)
    cache.put(key_of(1), {"content": "from the parent"})
    child = multiprocessing.get_context("fork").Process(target=_put_in_a_fork, args=(cache,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    cache.put(key_of(3), {"content": "from the parent again"})
    assert len(segments(tmp_path)) == 2
    reader = ResponseCache(tmp_path)
    assert len(reader.get_many([key_of(1), key_of(2), key_of(3)])) == 3 and reader.corrupt == 0


def test_default_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LABELDISTILL_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    assert ResponseCache().root == tmp_path / "c"
    monkeypatch.delenv("LABELDISTILL_CACHE")
    assert default_cache_dir().parts[-3:] == (".cache", "labeldistill", "responses")
    assert not os.path.exists(tmp_path / "c")  # nothing is created before the first put
