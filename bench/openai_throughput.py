"""Throughput of the `openai` teacher against a local fake server with a fixed latency.

The fake server (tests/fake_openai_server.py, its own process) answers every request after
`--latency` seconds and injects no faults, so the ideal rate at concurrency c is c / latency
labels per second; the client should reach 95% of it at c = 32 and 90% elsewhere up to 64
(TARGETS). Each run starts from an empty cache; a last run over a warm cache must send no
request at all.

    .venv/bin/python bench/openai_throughput.py [--texts 2560] [--latency 0.05] [--transport aiohttp]
                                                [--no-pin] [--repeat 3] [--compare REV]

`--compare REV` runs every level also with the response cache of git revision REV (its
src/labeldistill/teachers/chat/response_cache.py, e.g. the one-file-per-answer cache of before
segments), interleaved with the current one so that both see the same load, and prints the two
side by side; `--repeat` runs each level that often and prints medians (and the range). With two
or more cores the server is pinned to one and the client to the others, as with a remote server;
`--no-pin` lets them share every core (lower figures on 2 cores). On a busy machine the figures
drop (see `uptime`): compare kinds within one run, not across runs.

Each level also runs a bare aiohttp client (`--no-reference` skips it): the same requests,
pre-encoded, with neither cache, accounting nor answer parsing. What it loses to the ideal is
the fake server's and the loopback's (timer rounding, wake-ups), not the teacher's: the
teacher's share of the bare client's rate is the part of the gap its own code makes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai_server import FakeOpenAIServer  # noqa: E402

from labeldistill.teachers.chat import response_cache  # noqa: E402
from labeldistill.teachers.openai.chat import ChatEngine  # noqa: E402
from labeldistill.teachers.prompts.chat import build_chat_prompt  # noqa: E402
from labeldistill.teachers.prompts.examples import Example  # noqa: E402
from labeldistill.teachers.settings import parse_labeler  # noqa: E402

LABELS = ["positive", "negative", "neutral"]
CODEBOOK = "Decide whether the text expresses a positive, a negative or a neutral sentiment."
EXAMPLES = [Example("What a lovely day", "positive"), Example("This is awful", "negative")]
TARGETS = {32: 0.95, 64: 0.90}  # share of the ideal; 0.90 at the other levels
CACHE_MODULE = "src/labeldistill/teachers/chat/response_cache.py"


def texts(n: int, run: str) -> list[str]:
    return [f"{run} text {i}: this is rather {LABELS[i % 3]} news" for i in range(n)]


def cache_at(revision: str) -> type:
    """The ResponseCache class of `revision`, loaded from git (it must import only the stdlib
    and modules that still exist)."""
    source = subprocess.run(
        ["git", "show", f"{revision}:{CACHE_MODULE}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    module = types.ModuleType(f"response_cache_at_{revision}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{revision}:{CACHE_MODULE}", "exec"), module.__dict__)
    return module.ResponseCache


async def bare_client(url: str, batch: list[str], concurrency: int) -> float:
    """Labels per second of the least a client can do: post pre-encoded bodies, read answers."""
    import aiohttp

    bodies = [
        json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}).encode()
        for text in batch
    ]
    pending = iter(bodies)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=connector, headers={"Content-Type": "application/json"}
    ) as session:

        async def worker() -> None:
            for body in pending:
                async with session.post(url, data=body) as answer:
                    await answer.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(bodies) / (time.perf_counter() - started)


def label(cache, batch: list[str], settings: dict) -> dict:
    """One run of the teacher as label_with_api makes it, over `cache` (`settings`: the labeler's
    config block, parsed as a job parses it); its usage record."""
    teacher = ChatEngine(
        parse_labeler("bench", {"backend": "openai", **settings}),
        LABELS,
        build_chat_prompt(CODEBOOK, LABELS, EXAMPLES),
        cache,
        api_key="",
        labeler="bench",
    )
    results = asyncio.run(teacher.label(batch))
    usage = teacher.usage.to_dict()
    if any(r.label is None for r in results):
        raise SystemExit(f"unexpected failures: {usage}")
    return usage


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
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per level and cache kind (medians printed)"
    )
    parser.add_argument("--compare", metavar="REV", help="also run the response cache of this git revision")
    parser.add_argument(
        "--reference",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run a bare aiohttp client at each level: the ceiling of the server and loopback",
    )
    parser.add_argument("--cache-root", default=None, help="where the caches go (default: the system's temp)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    levels = [int(c) for c in args.concurrency.split(",")]
    kinds = {"current": response_cache.ResponseCache}
    if args.compare:
        kinds = {args.compare: cache_at(args.compare), **kinds}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"fake server latency {args.latency * 1000:.0f} ms, no faults; transport {args.transport}; "
        f"{len(os.sched_getaffinity(0))} cores, load average {load:.2f}; "
        f"{args.repeat} run(s) per cell, medians"
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
        header = f"{'concurrency':>11} {'texts':>6} {'ideal/s':>7}"
        for name in kinds:
            header += f" | {name[:12]:>12} labels/s  share (range)  ms CPU/label"
        if args.reference:
            header += " | bare client labels/s share; the teacher's rate as a share of it"
        print(header)
        settings = {
            "model": "gpt-4o-mini",
            "base_url": server.base_url,
            "api_key_env": "",
            "transport": args.transport,
            "progress": False,
        }
        run = 0
        warm: dict[str, tuple[Path, list[str]]] = {}  # the last run of each kind
        for concurrency in levels:
            n = max(args.texts if concurrency > 1 else 100, concurrency * 20)
            settings["concurrency"] = concurrency
            ideal = concurrency / args.latency
            rates: dict[str, list[float]] = {name: [] for name in kinds}
            # The client's CPU per label: what the cache costs, less swayed by the load than rates.
            cpu: dict[str, list[float]] = {name: [] for name in kinds}
            for repeat in range(args.repeat):
                # Alternate which kind goes first: a change of load mid-level hits both alike.
                order = list(kinds) if repeat % 2 == 0 else list(reversed(kinds))
                for name in order:
                    run += 1
                    batch = texts(n, f"run{run}")
                    cache_dir = Path(tmp) / f"run{run}"
                    started = time.process_time()
                    usage = label(kinds[name](cache_dir), batch, settings)
                    cpu[name].append((time.process_time() - started) / n)
                    if usage["requests_sent"] != n:
                        raise SystemExit(f"unexpected retries: {usage}")
                    rates[name].append(n / usage["wall_seconds"])
                    warm[name] = (cache_dir, batch)
            line = f"{concurrency:>11} {n:>6} {ideal:>7.0f}"
            for name in kinds:
                rate = statistics.median(rates[name])
                share = rate / ideal
                low, high = min(rates[name]) / ideal, max(rates[name]) / ideal
                flag = "*" if share < TARGETS.get(concurrency, 0.90) else " "
                line += f" | {rate:>21.1f} {share:>5.0%}{flag} ({low:.0%}-{high:.0%})"
                line += f" {statistics.median(cpu[name]) * 1000:>12.2f}"
            if args.reference:
                url = f"{server.base_url}/chat/completions"
                bare = [
                    asyncio.run(bare_client(url, texts(n, f"bare{r}-{concurrency}"), concurrency))
                    for r in range(args.repeat)
                ]
                best = statistics.median(bare)
                teacher = statistics.median(rates[list(kinds)[-1]])
                line += f" | bare {best:>7.1f} {best / ideal:>4.0%}; teacher {teacher / best:>4.0%} of bare"
            print(line)
        print("* below target (95% at 32, 90% elsewhere)")
        # Warm cache: each kind's last texts again, over its cache.
        for name, (cache_dir, batch) in warm.items():
            usage = label(kinds[name](cache_dir), batch, settings)
            print(
                f"warm cache ({name}): {len(batch)} texts, {usage['requests_sent']} requests sent, "
                f"{usage['cache_hits']} cache hits, {len(batch) / usage['wall_seconds']:.0f} labels/s"
            )
            if usage["requests_sent"]:
                raise SystemExit(f"a warm cache ({name}) sent requests")


if __name__ == "__main__":
    main()
