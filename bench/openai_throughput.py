"""Throughput of the `openai` teacher against a local fake server with a fixed latency.

The fake server (tests/fake_openai_server.py, its own process) answers every request after
`--latency` seconds and injects no faults, so the ideal rate at concurrency c is c / latency
labels per second; the client should reach 90% of it up to c = 32. Each concurrency level
starts from an empty cache; a last run over a warm cache must send no request at all.

    .venv/bin/python bench/openai_throughput.py [--texts 640] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_openai_server import FakeOpenAIServer  # noqa: E402

from labeldistill.prompts import Example  # noqa: E402
from labeldistill.teachers.openai_api import label_with_api  # noqa: E402

LABELS = ["positive", "negative", "neutral"]
CODEBOOK = "Decide whether the text expresses a positive, a negative or a neutral sentiment."
EXAMPLES = [Example("What a lovely day", "positive"), Example("This is awful", "negative")]


def texts(n: int, run: str) -> list[str]:
    return [f"{run} text {i}: this is rather {LABELS[i % 3]} news" for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=640, help="texts per level (more at high concurrency)")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", default="1,8,32,64")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    levels = [int(c) for c in args.concurrency.split(",")]
    print(f"fake server latency {args.latency * 1000:.0f} ms, no faults")
    print(f"{'concurrency':>11} {'texts':>6} {'seconds':>8} {'labels/s':>9} {'ideal':>7} {'share':>6}")
    with FakeOpenAIServer(latency=args.latency, fault_rate=0.0) as server, tempfile.TemporaryDirectory() as tmp:
        for concurrency in levels:
            # At least 10 rounds of the pool, so that start and finish do not weigh much.
            n = max(args.texts if concurrency > 1 else 100, concurrency * 20)
            settings = {
                "model": "gpt-4o-mini",
                "base_url": server.base_url,
                "api_key_env": "",
                "concurrency": concurrency,
                "progress": False,
            }
            batch = texts(n, f"c{concurrency}")
            started = time.perf_counter()
            results, usage = label_with_api(
                batch, None, CODEBOOK, LABELS, EXAMPLES, settings, Path(tmp) / f"c{concurrency}", "bench"
            )
            seconds = usage["wall_seconds"]
            rate = n / seconds
            ideal = concurrency / args.latency
            failed = sum(r.label is None for r in results)
            assert failed == 0 and usage["requests_sent"] == n, (failed, usage)
            print(f"{concurrency:>11} {n:>6} {seconds:>8.2f} {rate:>9.1f} {ideal:>7.0f} {rate / ideal:>6.0%}")
            del started
        # Warm cache: the last level's texts again.
        started = time.perf_counter()
        results, usage = label_with_api(
            batch, None, CODEBOOK, LABELS, EXAMPLES, settings, Path(tmp) / f"c{concurrency}", "bench"
        )
        seconds = usage["wall_seconds"]
        print(
            f"warm cache: {n} texts, {usage['requests_sent']} requests sent, "
            f"{usage['cache_hits']} cache hits, {n / seconds:.0f} labels/s "
            f"({time.perf_counter() - started:.2f} s with setup)"
        )
        assert usage["requests_sent"] == 0


if __name__ == "__main__":
    main()
