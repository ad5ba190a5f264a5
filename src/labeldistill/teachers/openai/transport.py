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

Both also have `probe(timeout)`: one GET of `<base_url>/models`, which tells a server that
answers (any status) from one that cannot be reached. A TransportError says which of the two
failures it was (`kind`): no connection at all (refused, unknown host, unreachable network,
no connection within the connect timeout: the server is not there) or a connection that
failed on the way (reset, dropped, no answer in time: the server is there but in trouble).
"""

from __future__ import annotations

import errno
import json
import logging
import socket
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

OPENAI_BASE_URL = "https://api.openai.com/v1"
CHAT_PATH = "/chat/completions"
MODELS_PATH = "/models"
TRANSPORTS = ("openai", "aiohttp")
# TransportError kinds. The first four mean that no connection was made: nothing listens there.
REFUSED, NO_HOST, UNREACHABLE, CONNECT_TIMEOUT = "refused", "no_host", "unreachable", "connect_timeout"
RESET, TIMEOUT, FAILED = "reset", "timeout", "failed"
CANNOT_CONNECT = frozenset({REFUSED, NO_HOST, UNREACHABLE, CONNECT_TIMEOUT})


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]
    body: bytes


class TransportError(Exception):
    """No HTTP answer at all: a timeout, or a refused, reset or dropped connection.

    `kind` is one of the kinds above; `str()` says it in a few words ("connection refused").
    """

    def __init__(self, message: str, kind: str = FAILED):
        super().__init__(message)
        self.kind = kind

    @property
    def cannot_connect(self) -> bool:
        """No connection was made at all: the server is not there (rather than in trouble)."""
        return self.kind in CANNOT_CONNECT


def _causes(error: BaseException) -> list[BaseException]:
    """`error`, what it was raised from, and aiohttp's wrapped OSError, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        os_error = getattr(current, "os_error", None)  # aiohttp's ClientConnectorError
        if isinstance(os_error, BaseException) and all(os_error is not seen for seen in chain):
            chain.append(os_error)
        current = current.__cause__ or current.__context__
    return chain


def classify(error: BaseException, timeout: float) -> TransportError:
    """A TransportError that says in a few words why `error` (from any HTTP stack) gave no
    answer: the OSError underneath is found through the exception chain."""
    chain = _causes(error)
    names = {type(cause).__name__ for cause in chain}
    for cause in chain:
        if isinstance(cause, ConnectionRefusedError):
            return TransportError("connection refused", REFUSED)
        if isinstance(cause, socket.gaierror) or type(cause).__name__ == "ClientConnectorDNSError":
            return TransportError("host name not found", NO_HOST)
        if isinstance(cause, OSError) and cause.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return TransportError("host unreachable", UNREACHABLE)
    # asyncio joins the failures of several addresses (localhost: ::1 and 127.0.0.1) in one
    # OSError without an errno.
    text = " ".join(str(cause) for cause in chain)
    if f"[Errno {errno.ECONNREFUSED}]" in text or "connection refused" in text.lower():
        return TransportError("connection refused", REFUSED)
    if names & {"ConnectionTimeoutError", "ConnectTimeout"}:  # aiohttp's, httpx's
        return TransportError(f"no connection within {_connect_timeout(timeout):g} s", CONNECT_TIMEOUT)
    if any(isinstance(cause, TimeoutError) for cause in chain) or names & {
        "ReadTimeout",
        "WriteTimeout",
        "APITimeoutError",
    }:
        return TransportError(f"no answer within {timeout:g} s", TIMEOUT)
    if any(isinstance(cause, ConnectionResetError | BrokenPipeError) for cause in chain) or names & {
        "ServerDisconnectedError",
        "RemoteProtocolError",
    }:
        return TransportError(f"connection dropped ({type(error).__name__})", RESET)
    return TransportError(f"connection failed ({type(error).__name__})", FAILED)


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

    async def post(self, payload: dict, body: bytes | None = None) -> HttpAnswer:
        """`body` (the payload encoded already) is not used: the package encodes it."""
        import openai

        try:
            # The generic POST, not chat.completions.create(): the body goes out as built and
            # skips create()'s per-request parameter transformation (about 5 ms of CPU).
            response = await self._client.post(CHAT_PATH, body=payload, cast_to=self._httpx.Response)
        except openai.APIStatusError as error:
            response = error.response
        except openai.APIConnectionError as error:  # APITimeoutError included
            raise classify(error, self.timeout) from None
        return HttpAnswer(response.status_code, dict(response.headers), response.content)

    async def probe(self, timeout: float) -> HttpAnswer:
        import openai

        try:
            response = await self._client.get(
                MODELS_PATH, cast_to=self._httpx.Response, options={"timeout": timeout}
            )
        except openai.APIStatusError as error:
            response = error.response
        except openai.APIConnectionError as error:
            raise classify(error, timeout) from None
        return HttpAnswer(response.status_code, dict(response.headers), response.content)

    async def close(self) -> None:
        await self._client.close()


class AiohttpTransport:
    def __init__(self, base_url: str | None, api_key: str, timeout: float, concurrency: int):
        import aiohttp

        self._aiohttp = aiohttp
        self.url = (base_url or OPENAI_BASE_URL).rstrip("/") + CHAT_PATH
        self.models_url = (base_url or OPENAI_BASE_URL).rstrip("/") + MODELS_PATH
        self.timeout = timeout
        # The proxy is looked up once: aiohttp's trust_env would do it (and read ~/.netrc) in a
        # thread for every request.
        self.proxy = proxy_for(self.url)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency),
            timeout=aiohttp.ClientTimeout(total=timeout, connect=_connect_timeout(timeout)),
            headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
        )

    async def post(self, payload: dict, body: bytes | None = None) -> HttpAnswer:
        """`body`: the payload as json.dumps encodes it, where the caller has it already."""
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8") if body is None else body
        try:
            async with self._session.post(self.url, data=data, proxy=self.proxy) as response:
                body = await response.read()
                # Headers matter only for errors (Retry-After): not copied for every answer.
                headers = dict(response.headers) if response.status != 200 else {}
                return HttpAnswer(response.status, headers, body)
        except (TimeoutError, self._aiohttp.ClientError) as error:
            raise classify(error, self.timeout) from None

    async def probe(self, timeout: float) -> HttpAnswer:
        limit = self._aiohttp.ClientTimeout(total=timeout, connect=_connect_timeout(timeout))
        try:
            async with self._session.get(self.models_url, proxy=self.proxy, timeout=limit) as response:
                return HttpAnswer(response.status, dict(response.headers), await response.read())
        except (TimeoutError, self._aiohttp.ClientError) as error:
            raise classify(error, timeout) from None

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
