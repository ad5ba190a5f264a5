"""Throughput of the `openai` teacher against a local fake server with a fixed latency.

The fake server (tests/fake_openai_server.py, its own process) answers every request after
`--latency` seconds and injects no faults, so the ideal rate at concurrency c is c / latency
labels per second; the client should reach 90% of it up to c = 32. Each concurrency level
starts from an empty cache; a last run over a warm cache must send no request at all.

    .venv/bin/python bench/openai_throughput.py [--texts 2560] [--latency 0.05] [--transport aiohttp]
                                                [--no-pin]

With two or more cores the server is pinned to one and the client to the others, as with a
remote server; `--no-pin` lets them share every core (lower figures on 2 cores). On a busy
machine the figures drop (see `uptime`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_openai_server import FakeOpenAIServer  # noqa: E402

from labeldistill.prompts import Example  # noqa: E402
from labeldistill.teachers.openai_api import label_with_api  # noqa: E402

LABELS = ["positive", "negative", "neutral"]
CODEBOOK = "Decide whether the text expresses a positive, a negative or a neutral sentiment."
EXAMPLES = [Example("What a lovely day", "positive"), Example("This is awful", "negative")]
TARGET_SHARE = 0.9
TARGET_UP_TO = 32


def texts(n: int, run: str) -> list[str]:
    return [f"{run} text {i}: this is rather {LABELS[i % 3]} news" for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--texts",
        type=int,
        default=2560,
        help="texts per level (at least 20 rounds of the pool; 80 at 32: the steady state, not the start-up)",
    )
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=len(os.sched_getaffinity(0)) >= 2,
        help="server on one core, client on the others, as with a remote server (default: with 2+ cores)",
    )
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", default="1,8,32,64")
    parser.add_argument("--transport", default="aiohttp", choices=["aiohttp", "openai"])
    parser.add_argument("--cache-root", default=None, help="where the caches go (default: the system's temp)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    levels = [int(c) for c in args.concurrency.split(",")]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"fake server latency {args.latency * 1000:.0f} ms, no faults; transport {args.transport}; "
        f"{len(os.sched_getaffinity(0))} cores, load average {load:.2f}"
    )
    with (
        FakeOpenAIServer(latency=args.latency, fault_rate=0.0) as server,
        tempfile.TemporaryDirectory(dir=args.cache_root) as tmp,
    ):
        if args.pin:
            # A real API server does not share the client's cores: keep the stand-in off them.
            cores = sorted(os.sched_getaffinity(0))
            os.sched_setaffinity(server.process.pid, {cores[-1]})
            os.sched_setaffinity(0, set(cores[:-1]))
            print(f"server pinned to core {cores[-1]}, client to core(s) {cores[:-1]}")
        print(f"{'concurrency':>11} {'texts':>6} {'seconds':>8} {'labels/s':>9} {'ideal':>7} {'share':>6}")
        for concurrency in levels:
            n = max(args.texts if concurrency > 1 else 100, concurrency * 20)
            settings = {
                "model": "gpt-4o-mini",
                "base_url": server.base_url,
                "api_key_env": "",
                "concurrency": concurrency,
                "transport": args.transport,
                "progress": False,
            }
            batch = texts(n, f"c{concurrency}")
            cache_dir = Path(tmp) / f"c{concurrency}"
            results, usage = label_with_api(
                batch, None, CODEBOOK, LABELS, EXAMPLES, settings, cache_dir, "bench"
            )
            if any(r.label is None for r in results) or usage["requests_sent"] != n:
                raise SystemExit(f"unexpected failures or retries: {usage}")
            rate = n / usage["wall_seconds"]
            share = rate / (concurrency / args.latency)
            flag = " (below target)" if concurrency <= TARGET_UP_TO and share < TARGET_SHARE else ""
            print(
                f"{concurrency:>11} {n:>6} {usage['wall_seconds']:>8.2f} {rate:>9.1f} "
                f"{concurrency / args.latency:>7.0f} {share:>6.0%}{flag}"
            )
        # Warm cache: the last level's texts again.
        results, usage = label_with_api(batch, None, CODEBOOK, LABELS, EXAMPLES, settings, cache_dir, "bench")
        print(
            f"warm cache: {n} texts, {usage['requests_sent']} requests sent, "
            f"{usage['cache_hits']} cache hits, {n / usage['wall_seconds']:.0f} labels/s"
        )
        if usage["requests_sent"]:
            raise SystemExit("a warm cache sent requests")


if __name__ == "__main__":
    main()
