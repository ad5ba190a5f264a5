"""Chat messages built from a codebook and few-shot examples, for chat-style backends.

    system:    <codebook>  Valid labels: a, b  Answer with the label only ...
    user:      <example text>          } one pair per few-shot example
    assistant: <example label>         }
    user:      <the text to label>

Everything before the last user turn is the same for every text (servers with prefix caching,
such as vLLM and OpenAI, reuse it). Shared by every chat backend (`openai`, `vllm`).

A base model has no chat template (the default local model, Gemma 3 270M, has none), and vLLM
refuses to chat with it. `FEW_SHOT_CHAT_TEMPLATE` renders these messages as the completion-style
few-shot prompt of prompts/completion.py (the answer follows "Label:"): the `vllm` backend uses it for such
a model, and `vllm serve MODEL --chat-template {few_shot_chat_template}` serves it. It is code,
not a data file, so that the stages' fingerprints follow it (fingerprint.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from labeldistill.teachers.chat.response_cache import canonical_json
from labeldistill.teachers.prompts.completion import build_prompt
from labeldistill.teachers.prompts.examples import Example, flatten

ANSWER_INSTRUCTION = "Answer with the label only: exactly one of the valid labels, nothing else."
# A Jinja chat template for models without one, on one line (one argument of a command line):
#   <bos><system>\n\nText: <example>\nLabel: <label>\n\n ... Text: <text>\nLabel:
FEW_SHOT_CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}{{ message['content'] + '\\n\\n' }}"
    "{%- elif message['role'] == 'user' -%}{{ 'Text: ' + message['content'] + '\\nLabel:' }}"
    "{%- elif message['role'] == 'assistant' -%}{{ ' ' + message['content'] + '\\n\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
)


@dataclass(frozen=True)
class ChatPrompt:
    prefix: tuple[dict[str, str], ...]  # system message and example turns, shared by every text

    def messages(self, text: str) -> list[dict[str, str]]:
        """The full conversation for one text (the text flattened to one line). The shared
        messages are the prefix's own dicts, not copies (100,000 texts would otherwise hold
        100,000 copies of the codebook and examples): read them, never change them."""
        return [*self.prefix, {"role": "user", "content": flatten(text)}]

    @property
    def hash(self) -> str:
        """Short sha256 hex of the shared messages: names the prompt in provenance."""
        return hashlib.sha256(canonical_json(list(self.prefix)).encode("utf-8")).hexdigest()[:16]


def system_message(codebook: str, labels: Sequence[str]) -> str:
    parts = [codebook.strip(), f"Valid labels: {', '.join(labels)}", ANSWER_INSTRUCTION]
    return "\n\n".join(part for part in parts if part)


def build_chat_prompt(codebook: str, labels: Sequence[str], examples: Sequence[Example]) -> ChatPrompt:
    """Codebook and valid labels as the system message, each example as a user/assistant pair."""
    labels = [str(label) for label in labels]
    build_prompt(codebook, labels, examples)  # the same checks of labels and examples as every backend
    prefix: list[dict[str, str]] = [{"role": "system", "content": system_message(codebook, labels)}]
    for example in examples:
        prefix.append({"role": "user", "content": flatten(example.text)})
        prefix.append({"role": "assistant", "content": example.label})
    return ChatPrompt(prefix=tuple(prefix))
