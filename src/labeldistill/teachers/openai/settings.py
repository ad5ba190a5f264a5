"""An `openai` labeler's API key, which only ever comes from the environment (its settings are
declared in `teachers.settings.OpenAISettings`, and a job parses them with `parse_labeler`)."""

from __future__ import annotations

import logging
import os

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.settings import DEFAULT_MAX_TOKENS, OpenAISettings

__all__ = ["DEFAULT_MAX_TOKENS", "PLACEHOLDER_KEY", "OpenAISettings", "resolve_api_key"]

log = logging.getLogger(__name__)

# Sent when the endpoint needs no key (a local vLLM, llama.cpp or Ollama server).
PLACEHOLDER_KEY = "no-key-needed"


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
