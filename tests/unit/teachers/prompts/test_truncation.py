"""Cutting texts to max_text_tokens: at a token boundary, never below the limit, idempotent."""

from __future__ import annotations

import logging

import pytest

from labeldistill.teachers.prompts.examples import flatten
from labeldistill.teachers.prompts.token_count import TokenCounter, token_counter
from labeldistill.teachers.prompts.truncation import truncate, truncate_texts, warn_truncated

TEXTS = [
    "A plain sentence about a film that was positive overall, said the reviewer. " * 20,
    "Mixed  scripts:\n héllo wörld 日本語のテキスト 🙂🙂 and back to English " * 15,
    "unbelievablyunseparatedwordsgoingonandonwithoutanyspaceatall" * 10,
    "short one",
]


@pytest.fixture(scope="module")
def tiktoken_counter() -> TokenCounter:
    counter = token_counter("gpt-4o-mini")
    assert counter.method.startswith("tiktoken")  # a registry package ships the encoding
    return counter


def test_a_text_within_the_limit_is_only_flattened(tiktoken_counter):
    text = "two\n lines  of\ttext"
    tokens = tiktoken_counter.count(flatten(text))
    assert truncate(text, tokens, tiktoken_counter) == ("two lines of text", False)


def test_the_cut_ends_at_a_token_boundary_of_the_counter(tiktoken_counter):
    import tiktoken

    encoding = tiktoken.get_encoding(tiktoken_counter.method.split()[1])  # "tiktoken <name> ..."
    text = flatten(TEXTS[0])
    ids = encoding.encode_ordinary(text)
    cut, was_cut = truncate(text, 10, tiktoken_counter)
    assert was_cut and cut == encoding.decode(ids[:10]).rstrip()
    assert text.startswith(cut) and tiktoken_counter.count(cut) <= 10


def test_a_character_cut_in_the_middle_is_dropped_whole(tiktoken_counter):
    text = "🙂" * 40  # several tokens per emoji in cl100k and o200k
    cut, was_cut = truncate(text, 9, tiktoken_counter)
    assert was_cut and cut and set(cut) == {"🙂"} and tiktoken_counter.count(cut) <= 9


@pytest.mark.parametrize("limit", [8, 13, 64])
def test_cutting_again_changes_nothing(tiktoken_counter, limit):
    chars = TokenCounter(method="4 characters per token", exact=False)
    for counter in (tiktoken_counter, chars):
        for text in TEXTS:
            once, _ = truncate(text, limit, counter)
            assert truncate(once, limit, counter) == (once, False)
            assert counter.count(once) <= limit


def test_without_an_encoding_four_characters_make_a_token():
    chars = TokenCounter(method="4 characters per token", exact=False)
    assert truncate("abcd efgh ijkl", 2, chars) == ("abcd efg", True)


def test_a_cut_that_counts_longer_on_its_own_is_cut_shorter():
    # A counter whose cut is by characters while it counts UTF-8 bytes: "é" is two tokens.
    bytes_counter = TokenCounter(
        method="bytes", exact=True, _encode=lambda text: list(text.encode()), _head=lambda text, n: text[:n]
    )
    cut, was_cut = truncate("ééé abc", 4, bytes_counter)
    assert was_cut and cut == "éé" and truncate(cut, 4, bytes_counter) == (cut, False)


def test_texts_are_counted_and_the_job_warns_once(tiktoken_counter, caplog):
    texts, truncated = truncate_texts(TEXTS, 16, tiktoken_counter)
    assert truncated == 3 and texts[-1] == "short one"
    with caplog.at_level(logging.WARNING):
        warn_truncated("gpt", truncated, len(texts), 16, tiktoken_counter.method)
        warn_truncated("gpt", 0, len(texts), 16, tiktoken_counter.method)  # nothing cut: silent
    assert [r.getMessage() for r in caplog.records] == [
        f"labeler gpt: 3 of 4 texts were longer than 16 tokens (counted by {tiktoken_counter.method}) "
        "and were cut to their first 16 (labelers.gpt.max_text_tokens)"
    ]
