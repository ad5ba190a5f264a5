"""Texts cut to a labeler's `max_text_tokens` before they are sent, alike for the chat backends.

A text is flattened to one line (as every prompt sends it) and, when it has more tokens than
the limit, cut to the part its first `max_text_tokens` tokens cover, counted by the labeler's
own counter (teachers/prompts/token_count.py: tiktoken for an OpenAI model, the model's tokenizer for
vllm, 4 characters per token where neither is known). The cut text is what is sent, so it is
what the response cache keys on: a cached answer for the whole text is never reused for a cut
one, and a text within the limit keeps the key it always had.

Deterministic (one counter, one cut) and idempotent: a cut text has at most the limit's
tokens, so cutting it again changes nothing. The `local` backend cuts with its model's
tokenizer itself (teachers/local/teacher.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from labeldistill.teachers.prompts.examples import flatten
from labeldistill.teachers.prompts.token_count import TokenCounter

log = logging.getLogger(__name__)


def truncate(text: str, max_tokens: int, counter: TokenCounter) -> tuple[str, bool]:
    """`text` on one line, cut to at most `max_tokens` tokens of `counter`; and whether it was cut."""
    flat = flatten(text)
    if counter.count(flat) <= max_tokens:
        return flat, False
    limit = max_tokens
    while True:
        cut = counter.head(flat, limit).rstrip()
        # Tokenised on its own, a cut can come out a token longer than the tokens it was cut
        # from (a word split mid-way merges differently): then cut shorter, so that cutting
        # again never changes it.
        excess = counter.count(cut) - max_tokens
        if excess <= 0:
            return cut, True
        limit -= excess


def truncate_texts(texts: Sequence[str], max_tokens: int, counter: TokenCounter) -> tuple[list[str], int]:
    """Every text through `truncate`; and how many were cut."""
    cut = [truncate(str(text), max_tokens, counter) for text in texts]
    return [text for text, _ in cut], sum(was_cut for _, was_cut in cut)


def warn_truncated(labeler: str, truncated: int, texts: int, max_tokens: int, method: str) -> None:
    """The one warning a job gives about cut texts (none when nothing was cut)."""
    if truncated:
        log.warning(
            "labeler %s: %d of %d texts were longer than %d tokens (counted by %s) and were cut to "
            "their first %d (labelers.%s.max_text_tokens)",
            labeler,
            truncated,
            texts,
            max_tokens,
            method,
            max_tokens,
            labeler,
        )
