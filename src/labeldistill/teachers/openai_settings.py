"""The settings of an `openai` labeler (one entry under `labelers:` in config.yaml), checked once.

Every problem is one LabelDistillError line naming the key, `labelers.<name>.<key>`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from urllib.parse import urlsplit, urlunsplit

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.answers import MODES
from labeldistill.teachers.chat_transport import TRANSPORTS

log = logging.getLogger(__name__)

# Sent when the endpoint needs no key (a local vLLM, llama.cpp or Ollama server).
PLACEHOLDER_KEY = "no-key-needed"
# Enough for a label of a few words; logprobs mode reads a single token.
DEFAULT_MAX_TOKENS = {"text": 20, "json_schema": 50, "json_object": 50, "choice": 20, "logprobs": 1}


@dataclass(frozen=True)
class OpenAISettings:
    model: str
    base_url: str | None = None  # None: OpenAI itself
    api_key_env: str | None = "OPENAI_API_KEY"  # None or "": the server needs no key
    mode: str = "text"  # one of answers.MODES
    samples: int = 1
    temperature: float = 0.0
    max_tokens: int | None = None  # None: 20 (text), 50 (json_schema), 1 (logprobs)
    top_logprobs: int = 20
    seed: int | None = None
    concurrency: int = 8
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    timeout: float = 60.0  # seconds per request
    max_retries: int = 6
    backoff_base: float = 1.0  # seconds; the n-th retry waits up to base * 2**n
    backoff_cap: float = 60.0
    budget_usd: float | None = None
    prices: dict = field(default_factory=dict)  # model -> {input_per_million, output_per_million}
    progress: bool = True
    transport: str = "aiohttp"  # aiohttp | openai (see teachers/chat_transport.py)

    @property
    def answer_tokens(self) -> int:
        return self.max_tokens if self.max_tokens is not None else DEFAULT_MAX_TOKENS[self.mode]

    def answer_settings(self) -> dict:
        """The settings that change answers (part of provenance; never a key or a URL)."""
        return {
            "mode": self.mode,
            "samples": self.samples,
            "temperature": self.temperature,
            "max_tokens": self.answer_tokens,
            "top_logprobs": self.top_logprobs if self.mode == "logprobs" else None,
            "seed": self.seed,
        }

    def public_base_url(self) -> str | None:
        """The endpoint without any user:password part, fit for logs and provenance."""
        if self.base_url is None:
            return None
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))

    def to_dict(self) -> dict:
        return asdict(self)


_POSITIVE_INT = ("samples", "concurrency", "top_logprobs")
_NON_NEGATIVE_INT = ("max_retries",)
_POSITIVE_FLOAT = ("timeout", "backoff_base", "backoff_cap")
_OPTIONAL_POSITIVE = ("requests_per_minute", "tokens_per_minute", "max_tokens")


def parse_settings(settings: Mapping, labeler: str) -> OpenAISettings:
    """Check a labeler's settings; keys not listed in OpenAISettings (backend, shots, ...) are
    left to the stages that read them."""

    def bad(key: str, what: str) -> LabelDistillError:
        return LabelDistillError(f"labelers.{labeler}.{key}: {what}, got {settings.get(key)!r}")

    known = {f.name for f in fields(OpenAISettings)}
    values = {key: settings[key] for key in known if key in settings and settings[key] is not None}
    if not isinstance(values.get("model"), str) or not values["model"].strip():
        raise bad("model", "the model name the server knows is required")
    if values.get("mode", "text") not in MODES:
        raise bad("mode", f"must be one of {', '.join(MODES)}")
    if values.get("transport", "aiohttp") not in TRANSPORTS:
        raise bad("transport", f"must be one of {', '.join(TRANSPORTS)}")
    for key in _POSITIVE_INT + _NON_NEGATIVE_INT:
        if key in values:
            value = values[key]
            low = 1 if key in _POSITIVE_INT else 0
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise bad(key, f"must be an integer >= {low}")
    for key in _POSITIVE_FLOAT + _OPTIONAL_POSITIVE + ("budget_usd", "temperature"):
        if key in values:
            value = values[key]
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or value < 0 or (value == 0 and key not in ("temperature", "budget_usd")):
                raise bad(key, "must be a number > 0" if key != "temperature" else "must be a number >= 0")
    if "max_tokens" in values:
        values["max_tokens"] = int(values["max_tokens"])
    if values.get("mode") == "logprobs" and values.get("top_logprobs", 20) > 20:
        raise bad("top_logprobs", "OpenAI-compatible servers give at most 20")
    if "seed" in values and (isinstance(values["seed"], bool) or not isinstance(values["seed"], int)):
        raise bad("seed", "must be an integer")
    if "prices" in values and not isinstance(values["prices"], Mapping):
        raise bad("prices", "must map model names to {input_per_million, output_per_million}")
    if "base_url" in values and not str(values["base_url"]).startswith(("http://", "https://")):
        raise bad("base_url", "must be an http:// or https:// URL such as http://127.0.0.1:8000/v1")
    if values.get("samples", 1) > 1 and values.get("temperature", 0.0) == 0:
        log.warning("labelers.%s: %d samples at temperature 0 will mostly agree", labeler, values["samples"])
    return OpenAISettings(**values)


def resolve_api_key(settings: OpenAISettings, labeler: str) -> str:
    """The key from the environment variable named by api_key_env (never from a file or config).

    OpenAI itself needs one; a local server (any base_url) gets a placeholder when the variable
    is unset or api_key_env is empty.
    """
    if not settings.api_key_env:
        return PLACEHOLDER_KEY
    key = os.environ.get(settings.api_key_env, "").strip()
    if key:
        return key
    if settings.base_url is None:
        raise LabelDistillError(
            f"labelers.{labeler}.api_key_env: the environment variable {settings.api_key_env} "
            "holds no API key; export it, or set base_url for a server that needs none"
        )
    log.info("%s: %s is not set; sending a placeholder key", labeler, settings.api_key_env)
    return PLACEHOLDER_KEY
