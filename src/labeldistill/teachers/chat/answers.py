"""From one model answer to a label of the label set, or an explicit failure: never a guess.

Shared by every chat backend. An answer is read from a stored response (see
`openai/protocol.trim_chat_completion` for its fields: content, top_logprobs, ...) in one of three
modes:
- `text`: the answer, stripped of whitespace, surrounding quotes and trailing punctuation and
  case-folded, must equal exactly one label; anything else is a failure that keeps the raw text.
- `json_schema`: the server constrains the answer to {"label": <one of the labels>}; an answer
  that is not that object is a failure with the raw text.
- `logprobs`: one answer token; the label probabilities come from the first token's
  top_logprobs (every top token that starts exactly one label counts for it, e.g. "pos",
  "Positive"), renormalised over the labels. The sampled token gives the vote; if it names no
  label, the most probable label does; if no top token names a label, the text is parsed as in
  `text` mode.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

# text: strict match; logprobs: first-token probabilities; json_schema: OpenAI structured
# output; json_object: the same through llama.cpp's `{"type": "json_object", "schema": ...}`;
# choice: vLLM's `structured_outputs: {choice: labels}` (the answer is the label itself).
MODES = ("text", "logprobs", "json_schema", "json_object", "choice")
TRAILING_PUNCTUATION = ".,;:!?"
QUOTES = "\"'`*"


@dataclass(frozen=True)
class SampleAnswer:
    label: str | None  # one of the labels, or None: a failure
    probabilities: list[float] | None = None  # from logprobs, aligned with the labels
    raw: str | None = None  # the answer as given, kept for failures
    error: str | None = None


def normalise(text: str) -> str:
    """Whitespace, surrounding quotes and trailing punctuation off, case-folded."""
    text = text.strip()
    previous = None
    while text != previous:
        previous = text
        text = text.rstrip(TRAILING_PUNCTUATION).strip()
        if len(text) >= 2 and text[0] == text[-1] and text[0] in QUOTES:
            text = text[1:-1].strip()
    return text.casefold()


@functools.lru_cache(maxsize=64)
def _normalised_labels(labels: tuple[str, ...]) -> dict[str, list[str]]:
    """Normalised form -> the labels that have it (more than one: no answer can pick one)."""
    index: dict[str, list[str]] = {}
    for label in labels:
        index.setdefault(normalise(label), []).append(label)
    return index


def parse_text_answer(content: str | None, labels: Sequence[str]) -> SampleAnswer:
    if content is None:
        return SampleAnswer(None, raw=None, error="empty answer")
    matches = _normalised_labels(tuple(labels)).get(normalise(content), [])
    if len(matches) == 1:
        return SampleAnswer(matches[0], raw=content)
    return SampleAnswer(None, raw=content, error=f"answer {content!r} is not one of the labels")


def json_schema_format(labels: Sequence[str]) -> dict:
    """A structured-output response format whose only valid answers are {"label": <label>}."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "label",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"label": {"type": "string", "enum": list(labels)}},
                "required": ["label"],
                "additionalProperties": False,
            },
        },
    }


def json_object_format(labels: Sequence[str]) -> dict:
    """llama.cpp's form of the same restriction (its server knows no `json_schema` type)."""
    return {"type": "json_object", "schema": json_schema_format(labels)["json_schema"]["schema"]}


def choice_constraint(labels: Sequence[str]) -> dict:
    """vLLM's request field that restricts the answer to exactly one of the labels."""
    return {"structured_outputs": {"choice": list(labels)}}


def parse_json_answer(content: str | None, labels: Sequence[str]) -> SampleAnswer:
    try:
        label = json.loads(content or "")["label"]
    except (ValueError, TypeError, KeyError):
        return SampleAnswer(None, raw=content, error=f"answer {content!r} is not a JSON object with a label")
    if isinstance(label, str) and label in labels:
        return SampleAnswer(label, raw=content)
    return SampleAnswer(None, raw=content, error=f"answer label {label!r} is not one of the labels")


def token_label(token: str, labels: Sequence[str]) -> str | None:
    """The one label that `token` starts (case-folded, whitespace off), or None (none or several)."""
    start = token.strip().casefold()
    if not start:
        return None
    exact = [label for label in labels if label.casefold() == start]
    if len(exact) == 1:
        return exact[0]
    matches = [label for label in labels if label.casefold().startswith(start)]
    return matches[0] if len(matches) == 1 else None


def label_probabilities(top_logprobs: Sequence[Sequence], labels: Sequence[str]) -> list[float] | None:
    """Per-label probabilities from [token, logprob] pairs, renormalised; None if no label shows."""
    mass = dict.fromkeys(labels, 0.0)
    for token, logprob in top_logprobs:
        label = token_label(str(token), labels)
        if label is not None and logprob is not None:
            mass[label] += math.exp(float(logprob))
    total = sum(mass.values())
    if total <= 0:
        return None
    return [mass[label] / total for label in labels]


def parse_logprob_answer(
    content: str | None, top_logprobs: Sequence[Sequence] | None, labels: Sequence[str]
) -> SampleAnswer:
    probabilities = label_probabilities(top_logprobs or [], labels)
    if probabilities is None:
        return parse_text_answer(content, labels)
    vote = token_label(content or "", labels)
    if vote is None:
        vote = labels[max(range(len(labels)), key=lambda i: probabilities[i])]
    return SampleAnswer(vote, probabilities=probabilities, raw=content)


def parse_answer(mode: str, response: dict, labels: Sequence[str]) -> SampleAnswer:
    """One stored response read in `mode` (one of MODES)."""
    content = response.get("content")
    if mode in ("text", "choice"):
        return parse_text_answer(content, labels)
    if mode in ("json_schema", "json_object"):
        return parse_json_answer(content, labels)
    if mode == "logprobs":
        return parse_logprob_answer(content, response.get("top_logprobs"), labels)
    raise ValueError(f"unknown answer mode {mode!r} (valid: {', '.join(MODES)})")
