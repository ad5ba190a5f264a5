"""When to retry a request and how long to wait: exponential backoff with full jitter, or what
the server asks for in Retry-After."""

from __future__ import annotations

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
