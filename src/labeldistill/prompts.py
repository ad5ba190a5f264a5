"""Few-shot prompts built from a codebook: the part shared by every text, and the per-text part.

The prompt is completion-style, for base models without a chat template (the default local
model is the base Gemma 3 270M)::

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
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labeldistill.errors import LabelDistillError
from labeldistill.sampling import allocate, duplicate_keys

log = logging.getLogger(__name__)

TEXT_FIELD = "{text}"
SUFFIX_TEMPLATE = "Text: {text}\nLabel:"


@dataclass(frozen=True)
class Example:
    text: str
    label: str


def flatten(text: str) -> str:
    """One line: every run of whitespace (newlines included) becomes a single space."""
    return " ".join(str(text).split())


def draw_examples(pool: pd.DataFrame, k: int, seed: int) -> list[Example]:
    """Draw `k` few-shot examples from `pool` (columns id, text, label: human labels).

    Stratified by label: every label gets at least one example when k is at least the number
    of labels, the remaining places go proportionally to the labels' frequency in the pool
    (`sampling.allocate`). Texts that are the same after normalising case and whitespace count
    once (the first by id), so no two examples are twins. The result depends only on the pool's
    content (not its row order) and the seed, and its order is shuffled by the seed. k = 0
    gives []; a k larger than the pool gives the whole pool. Keeping test texts out of the pool
    is the caller's job.
    """
    if k < 0:
        raise LabelDistillError(f"number of few-shot examples must be >= 0, got {k}")
    missing = [column for column in ("id", "text", "label") if column not in pool.columns]
    if missing:
        raise LabelDistillError(f"few-shot example pool lacks column(s) {missing}")
    if k == 0 or len(pool) == 0:
        return []
    if k > len(pool):
        log.warning("asked for %d few-shot examples but the pool has only %d texts", k, len(pool))
        k = len(pool)
    frame = pool.assign(id=pool["id"].astype(str), label=pool["label"].astype(str))
    frame = frame.sort_values("id", kind="stable")
    frame = frame[~pd.Series(duplicate_keys(frame["text"]), index=frame.index).duplicated()]
    frame = frame.reset_index(drop=True)
    k = min(k, len(frame))
    counts = frame["label"].value_counts().sort_index()
    quota = allocate(counts, k, at_least_one=True)
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for label in counts.index:
        rows = frame.index[frame["label"] == label].to_numpy()
        chosen.extend(rng.choice(rows, size=quota[label], replace=False).tolist())
    chosen = [chosen[i] for i in rng.permutation(len(chosen))]
    return [Example(text=str(frame.at[i, "text"]), label=str(frame.at[i, "label"])) for i in chosen]


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


def with_question(codebook: str, question: str) -> str:
    """The codebook with the task's question after it (a one-vs-rest task says which category
    it asks about, `TaskSpec.question`); the codebook as it is without one."""
    return f"{codebook.rstrip()}\n\n{question.strip()}\n" if question.strip() else codebook


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
