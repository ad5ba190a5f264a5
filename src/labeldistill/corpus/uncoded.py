"""Texts nobody coded, labelled by an LLM for students to learn from (`tasks.<name>.uncoded`).

The paper's workflow: humans code a few hundred texts to test and validate on, the LLM labels
thousands nobody coded, and a student learns from those labels. The uncoded file is read as a
corpus is (`CorpusSpec`: an id and a text column, CSV or parquet, every row checked). Before a
text is labelled:
- a text that shares its `near_duplicate_key` (case, whitespace, punctuation, URLs and user
  handles ignored) with a coded text of the split (test, val or pool, where the few-shot
  examples come from) is dropped and counted: no student trains on a twin of a test text;
- a text repeated within the file is kept once (its label would be paid twice);
- the rest are put in one seeded random order and the first `planned` of them are kept: the
  largest training size any condition needs (all of them for `all`), so labelling stops there.

A student of seed s at size n draws n of the kept texts with `sampling.draw_ids`, as from the
pool: the draws are nested across sizes, and at the largest size every seed trains on the same
texts (only the student's own initialisation then differs between seeds).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labeldistill.conditions import ALL, size_key, size_label
from labeldistill.contracts import SPLIT, read_table
from labeldistill.corpus.chunks import Chunk, CorpusSpec, check_rows, read_chunk
from labeldistill.errors import LabelDistillError
from labeldistill.tasks.sampling import near_duplicate_key

UNCODED = "uncoded"  # the task's config key, and the part name of the labels of these texts
DEFAULT_SIZES = (1000,)
DEFAULT_CHUNK_SIZE = 1000


@dataclass(frozen=True)
class UncodedSettings:
    """The top-level `uncoded` block: the sizes LLM-label students train at on uncoded texts,
    which students do, the texts per labelling job and the seed of the order texts are taken in."""

    train_sizes: tuple[str, ...] = tuple(size_label(s) for s in DEFAULT_SIZES)
    students: tuple[str, ...] | None = None  # None: every student
    chunk_size: int = DEFAULT_CHUNK_SIZE
    seed: int = 0

    @classmethod
    def from_config(cls, config: Mapping) -> UncodedSettings:
        block = config.get(UNCODED) or {}
        sizes = block.get("train_sizes") or list(DEFAULT_SIZES)
        small = [s for s in sizes if str(s) != ALL and int(s) < 2]
        if small:
            raise LabelDistillError(f"config key uncoded.train_sizes: {small} (a size is >= 2 or all)")
        students = block.get("students")
        known = list(config.get("students") or {})
        unknown = [s for s in students or [] if s not in known]
        if unknown:
            raise LabelDistillError(f"config key uncoded.students: {unknown} are not among students {known}")
        seed = block.get("seed")
        return cls(
            train_sizes=tuple(sorted({size_label(s) for s in sizes}, key=size_key)),
            students=None if students is None else tuple(students),
            chunk_size=int(block.get("chunk_size") or DEFAULT_CHUNK_SIZE),
            seed=int((config.get("split") or {}).get("seed", 0) if seed is None else seed),
        )

    def planned(self, n_rows: int) -> int:
        """How many texts of a file of `n_rows` are labelled: the largest size, at most all."""
        if ALL in self.train_sizes:
            return n_rows
        return min(n_rows, max(int(s) for s in self.train_sizes))

    def n_chunks(self, n_rows: int) -> int:
        """Labelling jobs for a file of `n_rows` (known at parse: texts dropped later as coded
        twins leave the last chunks shorter or empty)."""
        return max(1, math.ceil(self.planned(n_rows) / self.chunk_size))


def plan_texts(
    uncoded: pd.DataFrame, coded_texts: Iterable[str], planned: int, seed: int
) -> tuple[pd.DataFrame, dict]:
    """The uncoded texts to label, in their order (columns id, text, label None), and what was
    dropped. `uncoded` holds the file's id and text columns, its ids unique."""
    coded = {near_duplicate_key(text) for text in coded_texts}
    keys = pd.Series([near_duplicate_key(text) for text in uncoded["text"]], index=uncoded.index)
    twin_of_coded = keys.isin(coded)
    repeated = keys.duplicated() & ~twin_of_coded
    kept = uncoded[~twin_of_coded & ~repeated]
    # The order depends on the texts' ids and the seed only, never on the file's row order.
    kept = kept.sort_values("id", kind="stable").reset_index(drop=True)
    order = np.random.default_rng(seed).permutation(len(kept))
    chosen = kept.iloc[order[:planned]].reset_index(drop=True)
    frame = pd.DataFrame({"id": chosen["id"].astype(str), "text": chosen["text"], "label": None})
    summary = {
        "rows": len(uncoded),
        "dropped_twins_of_coded": int(twin_of_coded.sum()),
        "dropped_repeated": int(repeated.sum()),
        "available": len(kept),
        "planned": len(frame),
        "seed": int(seed),
    }
    return frame, summary


def planned_texts(
    uncoded: CorpusSpec, coded_parts: Sequence[Path], planned: int, seed: int
) -> tuple[pd.DataFrame, dict]:
    """(the first `planned` uncoded texts in their order, the plan's counts): the file's rows
    checked, coded twins and repeats dropped (corpus/uncoded.py)."""
    rows = check_rows(uncoded)  # a bad row (id, text, encoding) raises its one line
    frame = read_chunk(uncoded, Chunk(0, 0, rows))
    coded = [text for path in coded_parts for text in read_table(path, SPLIT)["text"]]
    return plan_texts(frame[["id", "text"]], coded, planned, seed)
