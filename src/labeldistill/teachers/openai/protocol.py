"""The wire format of an OpenAI-compatible chat endpoint: the request body a labeler's settings
make, the cache key of a request, what the cache keeps of an answer, and the server's own words
from an error body. Shared by the sync engine (chat.py) and the Batch API (batch.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence

from labeldistill.teachers.chat.answers import (
    choice_constraint,
    json_object_format,
    json_schema_format,
)
from labeldistill.teachers.chat.response_cache import key_of, request_identity
from labeldistill.teachers.openai.settings import OpenAISettings
from labeldistill.teachers.prompts.chat import ChatPrompt
from labeldistill.teachers.prompts.token_count import TokenCounter

log = logging.getLogger(__name__)

BACKEND = "openai"
REDACTED = "***"


def trim_chat_completion(body: Mapping) -> dict:
    """What the cache keeps of a chat completion: enough to parse the label and account for it.

    Raises KeyError, IndexError or TypeError for a body that is not a chat completion.
    """
    choice = body["choices"][0]
    message = choice["message"]
    content = message.get("content")
    if content is None:
        content = message.get("refusal")
    first_token = ((choice.get("logprobs") or {}).get("content") or [None])[0]
    top = None
    if first_token is not None:
        top = [[entry["token"], entry["logprob"]] for entry in first_token.get("top_logprobs") or []]
    usage = body.get("usage") or {}
    counts = {
        "input_tokens": int(usage.get("prompt_tokens") or 0),
        "output_tokens": int(usage.get("completion_tokens") or 0),
    }
    # Of those, served by the provider's prompt cache, and spent reasoning (kept where given:
    # answers cached before these were read have neither, and count them as 0).
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
    if cached:
        counts["prompt_cache_tokens"] = int(cached)
    if reasoning:
        counts["reasoning_tokens"] = int(reasoning)
    return {
        "content": content,
        "top_logprobs": top,
        "finish_reason": choice.get("finish_reason"),
        "model": body.get("model"),
        "system_fingerprint": body.get("system_fingerprint"),
        "usage": counts,
    }


def request_payload(
    settings: OpenAISettings, labels: Sequence[str], messages: list[dict], sample: int
) -> dict:
    """The JSON body of one chat request, built from the model's family (teachers/openai/
    families.py): the answer budget under the field the model takes (max_tokens or
    max_completion_tokens), a temperature only where the model takes one or the labeler set it
    (settings.py refuses one the model cannot take), reasoning_effort where the model has efforts.
    A chat model's body holds temperature and max_tokens, the fields its cached answers are keyed
    by. Sample i of n > 1 gets seed (seed or 0) + i, so that servers honouring seeds (vLLM) give
    n different and reproducible samples."""
    family = settings.model_family
    payload: dict = {"model": settings.model, "messages": messages}
    temperature = settings.sent_temperature
    if temperature is not None:
        payload["temperature"] = temperature
    payload[family.token_limit] = settings.answer_tokens
    effort = settings.effort
    if effort is not None:
        payload["reasoning_effort"] = effort
    if settings.mode == "logprobs":
        payload["logprobs"] = True
        payload["top_logprobs"] = settings.top_logprobs
    elif settings.mode == "json_schema":
        payload["response_format"] = json_schema_format(labels)
    elif settings.mode == "json_object":
        payload["response_format"] = json_object_format(labels)
    elif settings.mode == "choice":
        payload.update(choice_constraint(labels))
    if settings.samples > 1:
        payload["seed"] = (settings.seed or 0) + sample
    elif settings.seed is not None:
        payload["seed"] = settings.seed
    return payload


def payload_key(payload: dict, sample: int) -> str:
    return key_of(payload_identity(payload, sample))


def payload_identity(payload: dict, sample: int) -> str:
    """What `payload_key` hashes."""
    sampling = {name: value for name, value in payload.items() if name not in ("model", "messages")}
    return request_identity(BACKEND, payload["model"], payload["messages"], sampling, sample)


def prompt_overhead_tokens(counter: TokenCounter, prompt: ChatPrompt) -> int:
    """Tokens of a request besides the text itself: shared messages and the framing of all."""
    return counter.count_messages([*prompt.prefix, {"role": "user", "content": ""}])


def server_message(body: bytes) -> str:
    """The server's own words from an error body (OpenAI's {"error": {"message": ...}}, vLLM's
    and Ollama's variants, or plain text), on one line."""
    text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    message = None
    if isinstance(data, Mapping):
        inner = data.get("error", data)
        if isinstance(inner, Mapping):
            message = inner.get("message") or inner.get("detail")
        else:
            message = inner or data.get("message") or data.get("detail")
    if not message:
        message = text or "(no message)"
    return " ".join(str(message).split())[:500]
