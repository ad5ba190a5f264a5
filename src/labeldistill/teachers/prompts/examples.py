"""What every prompt shows around the text, whatever its style (teachers/prompts/completion.py
for the local model, teachers/prompts/chat.py for chat backends): the codebook with the task's
question, and few-shot examples from the pool; texts flattened to one line. A labeler's own
examples, as its settings choose them, come from teachers/prompts/few_shot.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labeldistill.errors import LabelDistillError
from labeldistill.tasks.sampling import allocate, duplicate_keys

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Example:
    text: str
    label: str


def flatten(text: str) -> str:
    """One line: every run of whitespace (newlines included) becomes a single space."""
    return " ".join(str(text).split())


def with_question(codebook: str, question: str) -> str:
    """The codebook with the task's question after it (a one-vs-rest task says which category
    it asks about, `TaskSpec.question`); the codebook as it is without one."""
    return f"{codebook.rstrip()}\n\n{question.strip()}\n" if question.strip() else codebook


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
