"""Client-side rate limits (requests or tokens per minute) as async token buckets."""

from __future__ import annotations

import asyncio
import time


class RateLimiter:
    """A token bucket refilled at `per_minute / 60` per second.

    The bucket holds one second's worth, so a run starts without a long burst: servers enforce
    per-minute limits over shorter windows too (OpenAI: 60,000 per minute may mean 1,000 per
    second). A request bigger than the
    bucket waits until the bucket is full and then drives it below zero: it is never refused.
    Waiters are served first come, first served.
    """

    def __init__(self, per_minute: float, burst_seconds: float = 1.0):
        if per_minute <= 0:
            raise ValueError(f"rate must be > 0 per minute, got {per_minute}")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * burst_seconds)
        self.level = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    async def acquire(self, amount: float = 1.0) -> None:
        async with self._lock:
            needed = min(amount, self.capacity)
            while True:
                self._refill()
                if self.level >= needed:
                    self.level -= amount
                    return
                await asyncio.sleep((needed - self.level) / self.rate)
