"""The completion-style few-shot prompt of the `local` teacher: the part shared by every text,
and the per-text part. For base models without a chat template (the default local model is the
base Gemma 3 270M); chat backends use teachers/prompts/chat.py::

    <codebook>

    Valid labels: negative, other

    Text: <example text>
    Label: negative

    Text: <the text to label>
    Label:

The label is scored as the continuation " <label>". Everything up to the last "Text:" is the
prefix, the same for every text, so a backend can compute it once and reuse it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.prompts.examples import Example, flatten

TEXT_FIELD = "{text}"
SUFFIX_TEMPLATE = "Text: {text}\nLabel:"


@dataclass(frozen=True)
class FewShotPrompt:
    prefix: str  # codebook + examples: the part shared by every text
    suffix_template: str  # contains "{text}"; the per-text part ending right before the label

    def suffix(self, text: str) -> str:
        """The per-text part, the text flattened to one line (braces in it are kept as they are)."""
        return self.suffix_template.replace(TEXT_FIELD, flatten(text))

    def full(self, text: str) -> str:
        return self.prefix + self.suffix(text)

    @property
    def hash(self) -> str:
        """Short sha256 hex of prefix and suffix template: names the prompt in provenance."""
        digest = hashlib.sha256((self.prefix + "\x00" + self.suffix_template).encode("utf-8"))
        return digest.hexdigest()[:16]


def build_prompt(codebook: str, labels: Sequence[str], examples: Sequence[Example]) -> FewShotPrompt:
    """A completion-style few-shot prompt: codebook, the valid labels, examples, then the text.

    The prefix ends with a blank line; the suffix is "Text: <text>\\nLabel:" so that the label
    follows as " <label>".
    """
    labels = [str(label) for label in labels]
    if not labels:
        raise LabelDistillError("a prompt needs at least one label")
    bad = [label for label in labels if not label.strip() or "\n" in label]
    if bad:
        raise LabelDistillError(f"labels must be non-empty single-line strings, got {bad}")
    if len(set(labels)) != len(labels):
        raise LabelDistillError(f"labels must be distinct, got {labels}")
    for i, example in enumerate(examples):
        if example.label not in labels:
            raise LabelDistillError(f"few-shot example {i} has label {example.label!r}, not one of {labels}")
    parts = [codebook.strip(), f"Valid labels: {', '.join(labels)}"]
    parts += [f"Text: {flatten(example.text)}\nLabel: {example.label}" for example in examples]
    prefix = "\n\n".join(part for part in parts if part) + "\n\n"
    return FewShotPrompt(prefix=prefix, suffix_template=SUFFIX_TEMPLATE)
