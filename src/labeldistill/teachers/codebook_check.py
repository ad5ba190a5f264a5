"""Codebook checks before paying for a whole corpus (Halterman and Keith, 2025, "Codebook LLMs").

On a sample of a task's validation texts, one LLM labeler (one prompt draw) is asked:
- how often its answer is a valid label (`valid_share`);
- whether it labels the examples its own codebook quotes as the codebook says
  (`quoted_accuracy`; see `quoted_examples` for what counts as a quoted example);
- how often its label flips when nothing that should matter changes: the same few-shot
  examples in another order (`examples_order`), the same labels listed in another order in
  the prompt's "Valid labels" line (`label_order`, reversed). A local labeler is calibrated
  again on each reordered prompt, as a run with that prompt would be.
The flip rate is over the sampled texts labelled under both prompts; its 95% interval (Wilson)
covers the sampling of those texts from val, for this one reordering (another reordering may
flip other texts). With `samples` > 1 at a temperature above 0, some flips are sampling noise.

A plain verdict per labeler compares the point estimates with thresholds (config
`codebook_check`): "ok", or each problem in words, e.g. "unstable: 18% of labels flip when the
examples are reordered".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from labeldistill.teachers.prompts.examples import Example

VARIANTS = ("original", "examples_order", "label_order")
# What a reordering changes, as the verdict says it.
CHANGED = {"examples_order": "the examples are reordered", "label_order": "the labels are reordered"}
DEFAULT_THRESHOLDS = {"max_flip_rate": 0.1, "min_valid_share": 0.95, "min_quoted_accuracy": 0.8}

_QUOTE = re.compile(r'"([^"\n]+)"|\u201c([^\u201d\n]+)\u201d')
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_BACKTICKED = re.compile(r"`([^`\n]+)`")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\x00])")


def _items(codebook: str) -> list[str]:
    """Paragraphs and list items, each joined into one line (an item goes on over the
    indented lines after it)."""
    items: list[list[str]] = []
    fresh = True
    for line in codebook.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            fresh = True
            continue
        if fresh or _ITEM.match(line):
            items.append([])
        items[-1].append(line.strip())
        fresh = False
    return [" ".join(lines) for lines in items]


def _hold_quotes(text: str) -> tuple[str, list[str]]:
    """`text` with each quoted passage replaced by a mark holding its number, and the passages
    (so that a semicolon or full stop inside a quote never cuts a clause)."""
    quotes = [(m.group(1) or m.group(2)).strip() for m in _QUOTE.finditer(text)]
    marks = iter(range(len(quotes)))
    return _QUOTE.sub(lambda _: f"\x00{next(marks)}\x00", text), quotes


def quoted_examples(codebook: str, labels: Sequence[str]) -> list[Example]:
    """The examples a codebook quotes, with the label it gives them.

    A quoted example is a passage in double quotes ("..." or curly quotes) inside a clause (a
    paragraph or list item, cut at semicolons and at sentence ends) that names exactly one of
    the labels in backticks: `- Mixed: `negative` if the negative part dominates ("good cast,
    but it drags")` gives ("good cast, but it drags", negative); so does `"the plan has flaws,
    but it deserves support" is `other``. A clause naming no label, or several, gives nothing.
    """
    names = {str(label).casefold(): str(label) for label in labels}
    found: list[Example] = []
    for item in _items(codebook):
        held, quotes = _hold_quotes(item)
        for clause in (part for piece in held.split(";") for part in _SENTENCE_END.split(piece)):
            named = {names[m.casefold()] for m in _BACKTICKED.findall(clause) if m.casefold() in names}
            if len(named) != 1:
                continue
            label = named.pop()
            for index in re.findall(r"\x00(\d+)\x00", clause):
                text = quotes[int(index)]
                if text and text.casefold() not in names:
                    found.append(Example(text=text, label=label))
    return found


def reordered_examples(examples: Sequence[Example], seed: int) -> list[Example] | None:
    """The same examples in a seeded order other than the given one (None with fewer than two
    different examples: there is no other order)."""
    examples = list(examples)
    if len({(e.text, e.label) for e in examples}) < 2:
        return None
    rng = np.random.default_rng(seed)
    while True:
        order = [examples[i] for i in rng.permutation(len(examples))]
        if order != examples:
            return order


def reordered_labels(labels: Sequence[str]) -> list[str] | None:
    """The labels in reverse order (None for a single label)."""
    labels = [str(label) for label in labels]
    return labels[::-1] if len(labels) > 1 else None


def wilson_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval of a proportion k / n (NaN for n = 0)."""
    if n == 0:
        return math.nan, math.nan
    z = float(stats.norm.ppf(0.5 + level / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _given(value) -> bool:
    return isinstance(value, str)


def flips(original: Sequence, changed: Sequence) -> dict:
    """How often a text's label differs between two prompts, over the texts both labelled."""
    both = [(a, b) for a, b in zip(original, changed, strict=True) if _given(a) and _given(b)]
    flipped = sum(a != b for a, b in both)
    low, high = wilson_interval(flipped, len(both))
    return {
        "n": len(both),
        "n_flipped": flipped,
        "rate": flipped / len(both) if both else math.nan,
        "ci_low": low,
        "ci_high": high,
    }


def _mean(values: Sequence[bool]) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def summarise(
    gold: Sequence[str], labels_by_variant: Mapping[str, Sequence], quoted: Sequence[Example], quoted_answers
) -> dict:
    """The check's figures from each variant's labels of the sampled texts (aligned with `gold`)
    and the original prompt's answers to the quoted examples."""
    original = list(labels_by_variant["original"])
    valid = sum(_given(label) for label in original)
    correct = [answer == example.label for example, answer in zip(quoted, quoted_answers, strict=True)]
    result = {
        "n_texts": len(original),
        "n_valid": valid,
        "valid_share": valid / len(original) if original else math.nan,
        "accuracy": float(np.mean([a == g for a, g in zip(original, gold, strict=True)]))
        if original
        else math.nan,
        "n_quoted": len(quoted),
        "n_quoted_correct": int(sum(correct)),
        "quoted_accuracy": _mean(correct),
        "quoted": [
            {"text": example.text, "label": example.label, "answer": answer if _given(answer) else None}
            for example, answer in zip(quoted, quoted_answers, strict=True)
        ],
    }
    for variant in VARIANTS[1:]:
        changed = labels_by_variant.get(variant)
        result[variant] = None if changed is None else flips(original, changed)
    return result


def verdict(record: Mapping, thresholds: Mapping | None = None) -> str:
    """ "ok", or every problem in plain words, the worst first (see DEFAULT_THRESHOLDS)."""
    limits = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    problems = []
    share = record.get("valid_share")
    if share is not None and not math.isnan(share) and share < limits["min_valid_share"]:
        problems.append(f"invalid answers: {1 - share:.0%} of answers are not a label")
    for variant, change in CHANGED.items():
        found = record.get(variant) or {}
        rate = found.get("rate")
        if rate is not None and not math.isnan(rate) and rate > limits["max_flip_rate"]:
            problems.append(f"unstable: {rate:.0%} of labels flip when {change}")
    accuracy = record.get("quoted_accuracy")
    if accuracy is not None and not math.isnan(accuracy) and accuracy < limits["min_quoted_accuracy"]:
        wrong = record["n_quoted"] - record["n_quoted_correct"]
        problems.append(
            f"misreads its codebook: {wrong} of {record['n_quoted']} quoted examples labelled otherwise"
        )
    if problems:
        return "; ".join(problems)
    return "ok" if record.get("n_quoted") else "ok (the codebook quotes no example)"


COLUMNS = [
    "task",
    "labeler",
    "backend",
    "n_texts",
    "valid_share",
    "accuracy",
    "n_quoted",
    "quoted_accuracy",
    "flip_examples_order",
    "flip_examples_order_ci_low",
    "flip_examples_order_ci_high",
    "flip_label_order",
    "flip_label_order_ci_low",
    "flip_label_order_ci_high",
    "verdict",
]


def check_table(records: Sequence[Mapping], thresholds: Mapping | None = None) -> pd.DataFrame:
    """Task x labeler: the check's figures and its verdict."""
    rows = []
    for record in records:
        row = {key: record.get(key) for key in COLUMNS if key in record}
        for variant in VARIANTS[1:]:
            found = record.get(variant) or {}
            for key, name in (("rate", ""), ("ci_low", "_ci_low"), ("ci_high", "_ci_high")):
                row[f"flip_{variant}{name}"] = found.get(key)
        row["verdict"] = verdict(record, thresholds)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    numeric = [c for c in COLUMNS if c not in ("task", "labeler", "backend", "verdict")]
    frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="coerce")
    return frame.sort_values(["task", "labeler"]).reset_index(drop=True)
