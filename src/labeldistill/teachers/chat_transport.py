"""How a chat request reaches an OpenAI-compatible server: one pooled HTTP client per run.

Two transports behind one `post(payload) -> HttpAnswer` call; both keep one connection per
concurrency slot and send the body exactly as built. Neither retries (the teacher does, to
count and pace retries) and neither raises for an HTTP status: the teacher reads the status.
- `openai`: the openai package's AsyncOpenAI (with its aiohttp transport when aiohttp is
  installed), so the package's handling of base URLs, proxies and headers applies.
- `aiohttp` (the default): aiohttp alone. The openai package's request pipeline costs about
  1.7 ms of CPU per request on a 2-core machine (2 ms against 0.4 ms for aiohttp alone): in
  bench/openai_throughput.py (2 cores, 50 ms latency) it reaches 69% of the ideal rate at
  concurrency 32 and 35% at 64, against 90% and 84% for aiohttp; too slow for a local vLLM
  server at high concurrency, plenty for OpenAI's own latencies.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

OPENAI_BASE_URL = "https://api.openai.com/v1"
CHAT_PATH = "/chat/completions"
TRANSPORTS = ("openai", "aiohttp")


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]
    body: bytes


class TransportError(Exception):
    """No HTTP answer at all: a timeout, or a refused, reset or dropped connection."""


def proxy_for(url: str) -> str | None:
    """The proxy that HTTP(S)_PROXY and NO_PROXY name for `url`, as the openai package finds it."""
    host = urlsplit(url).hostname or ""
    if urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(urlsplit(url).scheme)


def _connect_timeout(timeout: float) -> float:
    return min(timeout, 10.0)


class OpenAIClientTransport:
    def __init__(self, base_url: str | None, api_key: str, timeout: float, concurrency: int):
        import openai

        try:  # openai 3 speaks httpx2, earlier versions httpx: the same API
            import httpx2 as httpx
        except ImportError:
            import httpx

        http_class = openai.DefaultAsyncHttpxClient
        try:
            import aiohttp  # noqa: F401

            # The faster of the package's two HTTP stacks, where this openai version has it.
            http_class = getattr(openai, "DefaultAioHttpClient", http_class)
        except ImportError:
            pass
        timeouts = httpx.Timeout(timeout, connect=_connect_timeout(timeout))
        self._httpx = httpx
        # httpx logs every request at INFO: 100,000 lines in a job's log. Unless asked for.
        http_log = logging.getLogger(httpx.__name__)
        if http_log.level == logging.NOTSET:
            http_log.setLevel(logging.WARNING)
        self._client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=timeouts,
            http_client=http_class(
                limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
                timeout=timeouts,
            ),
        )
        self.timeout = timeout

    async def post(self, payload: dict) -> HttpAnswer:
        import openai

        try:
            # The generic POST, not chat.completions.create(): the body goes out as built and
            # skips create()'s per-request parameter transformation (about 5 ms of CPU).
            response = await self._client.post(CHAT_PATH, body=payload, cast_to=self._httpx.Response)
        except openai.APIStatusError as error:
            response = error.response
        except openai.APITimeoutError:
            raise TransportError(f"no answer within {self.timeout:g} s") from None
        except openai.APIConnectionError as error:
            cause = type(error.__cause__).__name__ if error.__cause__ is not None else "connection error"
            raise TransportError(f"connection failed ({cause})") from None
        return HttpAnswer(response.status_code, dict(response.headers), response.content)

    async def close(self) -> None:
        await self._client.close()


class AiohttpTransport:
    def __init__(self, base_url: str | None, api_key: str, timeout: float, concurrency: int):
        import aiohttp

        self._aiohttp = aiohttp
        self.url = (base_url or OPENAI_BASE_URL).rstrip("/") + CHAT_PATH
        self.timeout = timeout
        # The proxy is looked up once: aiohttp's trust_env would do it (and read ~/.netrc) in a
        # thread for every request.
        self.proxy = proxy_for(self.url)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency),
            timeout=aiohttp.ClientTimeout(total=timeout, connect=_connect_timeout(timeout)),
            headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
        )

    async def post(self, payload: dict) -> HttpAnswer:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            async with self._session.post(self.url, data=data, proxy=self.proxy) as response:
                body = await response.read()
                # Headers matter only for errors (Retry-After): not copied for every answer.
                headers = dict(response.headers) if response.status != 200 else {}
                return HttpAnswer(response.status, headers, body)
        except TimeoutError:
            raise TransportError(f"no answer within {self.timeout:g} s") from None
        except self._aiohttp.ClientError as error:
            raise TransportError(f"connection failed ({type(error).__name__})") from None

    async def close(self) -> None:
        await self._session.close()


def open_transport(
    kind: str, base_url: str | None, api_key: str, timeout: float, concurrency: int
) -> OpenAIClientTransport | AiohttpTransport:
    if kind == "openai":
        return OpenAIClientTransport(base_url, api_key, timeout, concurrency)
    if kind == "aiohttp":
        return AiohttpTransport(base_url, api_key, timeout, concurrency)
    raise ValueError(f"unknown transport {kind!r} (valid: {', '.join(TRANSPORTS)})")
