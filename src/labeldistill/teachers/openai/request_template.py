"""Request bodies and cache keys of one prompt for many texts: the JSON encoded once around a
placeholder, each text's JSON string spliced in.

The requests of a run differ only in the last user message (and, per sample, the seed), yet
encoding each body (json.dumps) and each cache key (the canonical JSON of the whole
conversation, sorted keys, then sha256) from scratch cost about 30 us a text, a tenth of the
API client's CPU per label at 64 in flight. A JSON string encodes alike wherever it stands, so
the splice gives the very bytes that encoding the whole would: the same bodies, the same keys
(tests/unit/test_openai_teacher.py checks both against the plain encoding).
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring  # json.dumps's own string encoder with ensure_ascii=False

# Stands for the text while the template is encoded; a NUL never occurs in a prompt, and where
# one did (a codebook with this very string), `splice` gives None and the caller encodes as before.
PLACEHOLDER = "\x00labeldistill-text\x00"
_MARK = encode_basestring(PLACEHOLDER)


class Splice:
    """`head + <text as a JSON string> + tail`: one encoded JSON value with one text left open."""

    def __init__(self, head: str, tail: str):
        self.head = head
        self.tail = tail

    def __call__(self, text: str) -> str:
        return self.head + encode_basestring(text) + self.tail


def splice(encoded: str) -> Splice | None:
    """The Splice of JSON `encoded` with PLACEHOLDER as the text; None unless it occurs once."""
    parts = encoded.split(_MARK)
    if len(parts) != 2:
        return None
    return Splice(*parts)


def body_splice(payload: dict) -> Splice | None:
    """For request bodies as the aiohttp transport encodes them (json.dumps, UTF-8 kept)."""
    return splice(json.dumps(payload, ensure_ascii=False))


class RequestTemplate:
    """The body (bytes) and the cache key's canonical JSON of one sample's request, for any text."""

    def __init__(self, body: Splice, identity: Splice):
        self._body = body
        self.identity = identity

    def body(self, text: str) -> bytes:
        return self._body(text).encode("utf-8")


def request_template(payload: dict, identity: str) -> RequestTemplate | None:
    """From a request built with PLACEHOLDER as its text and the identity of its key; None where
    the placeholder does not occur exactly once in each."""
    body, key = body_splice(payload), splice(identity)
    if body is None or key is None:
        return None
    return RequestTemplate(body, key)
