"""Every random draw of texts in the workflow, in one place.

Three draws use it, each depending only on the content it is given and a seed (never on row
order), so that a rerun draws the same texts:
- the split into pool / val / test (`splits.py`): stratified by the human label, with texts
  that are the same after normalisation (letter case, whitespace) kept in one part, so that a
  test text never has a twin in the pool or among the few-shot examples;
- the few-shot examples of an LLM's prompt (`teachers.examples.draw_examples`): stratified, at least one
  example per label, no two examples with the same normalised text;
- the training texts of a student (`draw_ids`): a simple random sample of pool ids that reads no
  label, so that for one seed every labeler's student trains on exactly the same texts and a
  gap between labelers measures their labels, not sampling noise.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable

import numpy as np
import pandas as pd

from labeldistill.errors import LabelDistillError


def normalise(text: str) -> str:
    """The form two texts must share to count as duplicates: case-folded, whitespace collapsed."""
    return " ".join(str(text).casefold().split())


_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"@\w+")
_NOT_WORD = re.compile(r"[^\w\s]+")


def near_duplicate_key(text: str) -> str:
    """The form an uncoded text must not share with a coded one: `normalise` after URLs, user
    handles and punctuation are taken out ("happy birthday @anonymous" and "@anonymous --
    Happy birthday!" share it), so a retweet or a re-posted test text never trains a student."""
    stripped = normalise(_NOT_WORD.sub(" ", _HANDLE.sub(" ", _URL.sub(" ", str(text)))))
    return stripped or normalise(text)  # a text of punctuation only is its own key


def duplicate_keys(texts: Iterable[str]) -> list[str]:
    return [normalise(text) for text in texts]


def duplicate_summary(frame: pd.DataFrame) -> dict:
    """How many texts of (id, text, label) rows share their normalised text with another."""
    keys = pd.Series(duplicate_keys(frame["text"]), index=frame.index)
    sizes = keys.map(keys.value_counts())
    exact = frame["text"].map(frame["text"].value_counts())
    in_groups = frame[sizes > 1].assign(_key=keys[sizes > 1])
    conflicting = in_groups.groupby("_key")["label"].nunique().gt(1).sum() if len(in_groups) else 0
    return {
        "n_texts": len(frame),
        "n_duplicate_groups": int(keys[sizes > 1].nunique()),
        "n_texts_in_duplicate_groups": int((sizes > 1).sum()),
        "n_exact_duplicate_texts": int((exact > 1).sum()),
        "n_groups_with_conflicting_labels": int(conflicting),
    }


def allocate(counts: pd.Series, size: int, at_least_one: bool = False) -> dict[Hashable, int]:
    """How many of `size` draws each stratum gets: proportional to `counts`, largest remainder.

    Capped by what each stratum holds. With `at_least_one`, every stratum gets one first (when
    `size` allows; otherwise the `size` largest strata, ties in index order, get one each).
    Remainder ties go to the larger stratum, then the earlier one. Depends only on `counts`.
    """
    strata = list(counts.index)
    rank = {stratum: i for i, stratum in enumerate(strata)}
    size = min(int(size), int(counts.sum()))
    quota = {stratum: 0 for stratum in strata}
    if at_least_one:
        order = sorted(strata, key=lambda s: (-counts[s], rank[s]))
        for stratum in order[:size]:
            if counts[stratum] > 0:
                quota[stratum] = 1
    capacity = {stratum: int(counts[stratum]) - quota[stratum] for stratum in strata}
    left = size - sum(quota.values())
    while left > 0:
        open_strata = [s for s in strata if capacity[s] > 0]
        if not open_strata:
            break
        total = sum(int(counts[s]) for s in open_strata)
        share = {s: left * int(counts[s]) / total for s in open_strata}
        grant = {s: min(int(share[s]), capacity[s]) for s in open_strata}
        spare = left - sum(grant.values())
        for s in sorted(open_strata, key=lambda s: (-(share[s] % 1), -counts[s], rank[s])):
            if spare and grant[s] < capacity[s]:
                grant[s] += 1
                spare -= 1
        for s, extra in grant.items():
            quota[s] += extra
            capacity[s] -= extra
        left = spare
    return quota


def stratified_draw(
    frame: pd.DataFrame,
    size: int,
    seed: int,
    stratum: str = "label",
    group: str | None = None,
    at_least_one: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw `size` rows of `frame` (which has an `id` column) stratified by `stratum`.

    The column `group` keeps rows together: a group is drawn whole or not at all, and
    counts in its stratum (its most common value; ties: the smallest) with all its rows. Groups
    are taken in a seeded random order while they fit the stratum's quota, then across strata
    while they fit the total, so the size is exact unless only oversized groups are left.
    Returns (drawn, rest), both sorted by id. Depends on content and seed, not on row order.
    """
    frame = frame.sort_values("id", kind="stable").reset_index(drop=True)
    if size >= len(frame):
        return frame, frame.iloc[0:0]
    keys = list(frame.index) if group is None else list(frame[group])
    members: dict[Hashable, list[int]] = {}
    for row, key in zip(frame.index, keys, strict=True):
        members.setdefault(key, []).append(row)
    group_ids = list(members)
    values = frame[stratum].tolist()
    group_stratum = {}
    for key in group_ids:
        rows = members[key]
        if len(rows) == 1:
            group_stratum[key] = values[rows[0]]
        else:
            tally = pd.Series([values[row] for row in rows]).value_counts()
            group_stratum[key] = min(tally[tally == tally.max()].index)
    counts = frame[stratum].value_counts().sort_index()
    # Texts per stratum as the groups count them (a mixed group counts where its majority is).
    in_stratum = dict.fromkeys(counts.index, 0)
    for key in group_ids:
        in_stratum[group_stratum[key]] += len(members[key])
    in_stratum = pd.Series(in_stratum)
    quota = allocate(in_stratum, size, at_least_one)
    rng = np.random.default_rng(seed)
    taken: set[Hashable] = set()
    left_over = 0
    for s in counts.index:
        candidates = [k for k in group_ids if group_stratum[k] == s]
        remaining = quota[s]
        for i in rng.permutation(len(candidates)):
            key = candidates[i]
            if len(members[key]) <= remaining:
                taken.add(key)
                remaining -= len(members[key])
        left_over += remaining
    if left_over:
        rest_groups = [k for k in group_ids if k not in taken]
        for i in rng.permutation(len(rest_groups)):
            key = rest_groups[i]
            if len(members[key]) <= left_over:
                taken.add(key)
                left_over -= len(members[key])
    chosen = sorted(row for key in taken for row in members[key])
    mask = np.zeros(len(frame), dtype=bool)
    mask[chosen] = True
    return frame[mask].reset_index(drop=True), frame[~mask].reset_index(drop=True)


def draw_ids(ids: Iterable, size: int | None, seed: int) -> list[str]:
    """A simple random sample of `size` ids (all of them when `size` is None or larger), sorted.

    Reads no label: every labeler's student of one seed trains on exactly these texts.
    """
    if size is not None and int(size) < 1:
        raise LabelDistillError(f"config key train_size: {size!r} is not valid (expected >= 1 or null)")
    unique = sorted({str(i) for i in ids})
    if size is None or int(size) >= len(unique):
        return unique
    rng = np.random.default_rng(seed)
    return sorted(unique[i] for i in rng.permutation(len(unique))[: int(size)])
