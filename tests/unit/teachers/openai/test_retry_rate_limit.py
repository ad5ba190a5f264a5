"""Backoff, Retry-After and client-side rate limits."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time

from labeldistill.teachers.openai.rate_limit import RateLimiter
from labeldistill.teachers.openai.retry import backoff_delay, is_retryable_status, parse_retry_after


def test_retry_after_in_seconds_milliseconds_or_as_a_date():
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "0.25"}) == 0.25
    assert parse_retry_after({"retry-after-ms": "1500", "Retry-After": "9"}) == 1.5
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= parse_retry_after({"Retry-After": date}, now=now) <= 31
    assert parse_retry_after({"Retry-After": email.utils.formatdate(now - 30, usegmt=True)}, now=now) == 0.0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None and parse_retry_after(None) is None


def test_full_jitter_backoff_stays_under_its_ceiling():
    rng = random.Random(1)
    delays = [backoff_delay(attempt, 0.5, 4.0, rng) for attempt in range(10) for _ in range(20)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert max(backoff_delay(0, 0.5, 4.0, rng) for _ in range(50)) <= 0.5
    assert len(set(delays)) > 100  # spread, not lockstep


def test_which_statuses_are_retried():
    assert all(is_retryable_status(s) for s in (408, 409, 429, 500, 502, 503, 504))
    assert not any(is_retryable_status(s) for s in (400, 401, 403, 404, 422))


def test_rate_limiter_paces_requests():
    async def run() -> float:
        limiter = RateLimiter(per_minute=600, burst_seconds=0.1)  # 10 per second, burst of 1
        started = time.monotonic()
        for _ in range(6):
            await limiter.acquire()
        return time.monotonic() - started

    assert 0.4 <= asyncio.run(run()) <= 1.5


def test_a_request_bigger_than_the_bucket_still_goes():
    async def run() -> None:
        limiter = RateLimiter(per_minute=60_000, burst_seconds=0.01)
        await asyncio.wait_for(limiter.acquire(5_000), timeout=2)

    asyncio.run(run())
