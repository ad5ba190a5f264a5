"""When to retry a request and how long to wait: exponential backoff with full jitter, or what
the server asks for in Retry-After; and when a run stops retrying altogether (`FirstWindow`)."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Mapping

# Worth another try: rate limits, server trouble, and the lock/timeout codes OpenAI's own
# client retries. Every other 4xx is the caller's mistake and stops the run.
RETRY_STATUSES = frozenset({408, 409, 429})
# A server asking for longer than this is not waited for blindly.
MAX_RETRY_AFTER_S = 600.0


def is_retryable_status(status: int) -> bool:
    return status in RETRY_STATUSES or status >= 500


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt)] (attempt counts from 0).

    Spreads the retries of many concurrent requests instead of sending them back in lockstep.
    """
    ceiling = min(cap, base * (2.0 ** min(attempt, 60)))
    return (rng or random).uniform(0.0, ceiling)


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds the server asks to wait: `retry-after-ms`, or `Retry-After` as seconds or an HTTP
    date; None when absent or unreadable. Clipped to [0, MAX_RETRY_AFTER_S]."""
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    seconds: float | None = None
    if "retry-after-ms" in lowered:
        try:
            seconds = float(lowered["retry-after-ms"]) / 1000.0
        except ValueError:
            seconds = None
    if seconds is None and "retry-after" in lowered:
        value = lowered["retry-after"].strip()
        try:
            seconds = float(value)
        except ValueError:
            try:
                moment = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            if moment is None:
                return None
            seconds = moment.timestamp() - (time.time() if now is None else now)
    if seconds is None or seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


class FirstWindow:
    """The first `size` requests of a run, watched for a server that fails each of them the same
    way after all its retries (every one HTTP 500, every one a timeout): `failed` then says so,
    and the run stops rather than retrying every text of the part in turn (about 30 s a request
    at the default retries). One success, a failure of another kind, or a request given up
    unsent decides the window the other way, and the run goes on as before.

    Requests after the window wait in `admit` until it is decided, so that a server failing
    everything gets the window's requests and their retries, no more. With `size` at least the
    concurrency they wait for little: one of them starts only once a request of the window has
    ended, and the first success decides.
    """

    def __init__(self, size: int):
        self.size = size
        self.failure: str | None = None  # set when the window failed: the last request's reason
        self._admitted = 0
        self._failed = 0
        self._kinds: set[str] = set()
        self._decided = asyncio.Event()
        if size <= 0:
            self._decided.set()

    async def admit(self) -> bool:
        """True for a request of the window; one after it waits here until the window is decided
        (then check `failure`: set, the run is stopping)."""
        if self._decided.is_set():
            return False
        self._admitted += 1
        if self._admitted <= self.size:
            return True
        await self._decided.wait()
        return False

    def passed(self) -> None:
        """A request of the window ended other than given up after its retries."""
        self._decided.set()

    def failed(self, kind: str, reason: str) -> bool:
        """A request of the window was given up after its retries, `kind` naming the way (HTTP
        500, a timeout); True when it is the last of the window and all failed that way."""
        if self._decided.is_set():
            return False
        self._failed += 1
        self._kinds.add(kind)
        if len(self._kinds) > 1:  # failures of two kinds: not one fault of the server's
            self._decided.set()
            return False
        if self._failed < self.size:
            return False
        self.failure = reason
        self._decided.set()
        return True
