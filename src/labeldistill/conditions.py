"""What a condition name means, in one place.

A condition is one way of labelling the test texts:
- `{student}@{labeler}:{size}`: a student trained on `size` texts labelled by one labeler
  (over several seeds). The labeler is `human`, an LLM labeler, or an augmented one,
  `human{k}+{llm}`: k human labels and the LLM's labels for the rest of the same texts, or
  `{llm}~uncoded`: the LLM's labels of texts nobody coded (`tasks.<name>.uncoded`), which are
  other texts than the human-label students learn from.
- `fewshot@{labeler}`: an LLM labeler used directly as a few-shot classifier (over its prompt
  draws, `shots_seeds`).
`size` is a number of texts or `all` (the whole pool, or every uncoded text). The paper's
comparisons are pairs of conditions on the same test texts (`paper_gaps`); those between
students of the pool also train on the same texts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from labeldistill.errors import LabelDistillError

HUMAN = "human"
FEWSHOT = "fewshot"
ALL = "all"  # the training size that takes the whole pool
GAP_HUMAN = "human-label student minus LLM-label student"
GAP_FEWSHOT = "few-shot minus LLM-label student"
# Paired on the test texts only: the two students learn from different texts.
GAP_UNCODED = "human-label student minus student on LLM labels of uncoded texts"
GAP_ORDER = (GAP_HUMAN, GAP_UNCODED, GAP_FEWSHOT)  # the order tables list comparisons in
_AUGMENTED = re.compile(r"human(\d+)\+(.+)")
SHOTS_MARK = "~shots"  # a label source of one prompt draw: gemma~shots1
UNCODED_MARK = "~uncoded"  # students trained on an LLM's labels of uncoded texts: gemma~uncoded


def draw_source(labeler: str, draw: int) -> str:
    return f"{labeler}{SHOTS_MARK}{int(draw)}"


def parse_source(source: str) -> tuple[str, int | None]:
    """(labeler, prompt draw or None) of a label source."""
    labeler, mark, draw = str(source).rpartition(SHOTS_MARK)
    if mark and labeler and draw.lstrip("-").isdigit():
        return labeler, int(draw)
    return str(source), None


# The split stage reads it too: here, not in metrics.py, so that scoring code is no part of
# the split's code fingerprint.
def headline_metric(labels: Sequence[str], positive_label: str | None) -> str:
    """`f1` (of the positive label) for a two-label task that names its positive label; else
    `macro_f1`."""
    return "f1" if len(labels) == 2 and positive_label is not None else "macro_f1"


def augmented_name(human_count: int, llm: str) -> str:
    """`human250+gpt4o`: students trained on 250 human labels and gpt4o's labels for the rest."""
    return f"{HUMAN}{int(human_count)}+{llm}"


def parse_augmented(labeler: str) -> tuple[int, str] | None:
    """(k, llm) of an augmented labeler's name, None for any other labeler."""
    match = _AUGMENTED.fullmatch(str(labeler))
    return (int(match.group(1)), match.group(2)) if match else None


def uncoded_name(llm: str) -> str:
    """`gemma~uncoded`: students trained on gemma's labels of the task's uncoded texts."""
    return f"{llm}{UNCODED_MARK}"


def parse_uncoded(labeler: str) -> str | None:
    """The LLM labeler behind an uncoded-text training labeler, None for any other labeler."""
    llm, mark, rest = str(labeler).rpartition(UNCODED_MARK)
    return llm if mark and llm and not rest else None


# Display order of whose labels a student learned from, in every table and figure.
LABELER_KIND_ORDER = {HUMAN: 0, "augmented": 1, "llm": 2, "uncoded": 3}


def labeler_kind(labeler: str) -> str:
    """'human', 'augmented', 'llm' (LLM labels of the pool) or 'uncoded' (LLM labels of texts
    nobody coded): whose labels a student learned from, and of which texts."""
    if labeler == HUMAN:
        return HUMAN
    if parse_augmented(labeler):
        return "augmented"
    return "uncoded" if parse_uncoded(labeler) else "llm"


def size_key(size: str | int | None) -> float:
    """Sizes in their natural order, `all` after every number."""
    if size is None:
        return -1.0
    return math.inf if str(size) == ALL else float(size)


def size_label(size) -> str:
    """A training size as names and paths spell it: '250' or 'all'."""
    if size is None or str(size) == ALL:
        return ALL
    return str(int(size))


@dataclass(frozen=True)
class Condition:
    kind: str  # "student" or "fewshot"
    student: str | None
    labeler: str
    size: str | None = None  # students only: '250' or 'all'

    @property
    def name(self) -> str:
        if self.kind == FEWSHOT:
            return f"{FEWSHOT}@{self.labeler}"
        return f"{self.student}@{self.labeler}:{self.size}"

    @property
    def labeler_kind(self) -> str:
        return labeler_kind(self.labeler)

    @property
    def description(self) -> str:
        """In words, for sentences: 'minilm trained on 250 human labels', 'gemma few-shot'."""
        if self.kind == FEWSHOT:
            return f"{self.labeler} few-shot"
        texts = ALL if self.size == ALL else f"{int(self.size):,}"
        kind = self.labeler_kind
        if kind == HUMAN:
            whose = f"{texts} human labels"
        elif kind == "augmented":
            human_count, llm = parse_augmented(self.labeler)
            whose = f"{texts} coded texts, {human_count:,} of them with human labels and the rest {llm}'s"
        elif kind == "uncoded":
            whose = f"{parse_uncoded(self.labeler)}'s labels of {texts} uncoded texts"
        else:
            whose = f"{self.labeler}'s labels of {texts} coded texts"
        return f"{self.student} trained on {whose}"

    @property
    def rank(self) -> int:
        """Display order: human-label, augmented and LLM-label students (of the pool, then of
        uncoded texts), then the few-shot LLM."""
        if self.kind == FEWSHOT:
            return len(LABELER_KIND_ORDER)
        return LABELER_KIND_ORDER[self.labeler_kind]

    @property
    def sort_key(self) -> tuple:
        return (self.rank, self.student or "", self.labeler, size_key(self.size))


def student_condition(student: str, labeler: str, size) -> Condition:
    return Condition("student", student, labeler, size_label(size))


def fewshot_condition(labeler: str) -> Condition:
    return Condition(FEWSHOT, None, labeler)


def parse_condition(condition: str) -> Condition:
    head, sep, rest = str(condition).partition("@")
    if not sep or not head or not rest:
        raise LabelDistillError(
            f"condition {condition!r} is not of the form student@labeler:size or fewshot@labeler"
        )
    if head == FEWSHOT:
        return fewshot_condition(rest)
    labeler, sep, size = rest.rpartition(":")
    if not sep or not labeler or not (size.isdigit() or size == ALL):
        raise LabelDistillError(f"condition {condition!r}: a student's condition ends in :size (e.g. :250)")
    return student_condition(head, labeler, size)


@dataclass(frozen=True)
class Gap:
    comparison: str
    a: Condition
    b: Condition


def paper_gaps(conditions: Iterable[Condition]) -> list[Gap]:
    """PAPER.md's paired comparisons among `conditions`, for every student S and LLM labeler L
    where both sides exist:
    - S@human:n minus S@L:m, at equal sizes (n = m), and every smaller human size against the
      LLM's largest (the paper's 250 human labels against 1,000 LLM labels);
    - S@human:n minus S@L~uncoded:m for every n and m: how many LLM labels of uncoded texts
      match how many human labels (paired on the test texts, not on the training texts);
    - fewshot@L minus S@L:m and S@L~uncoded:m, for every size m.
    """
    present = set(conditions)
    students = sorted((c for c in present if c.kind == "student"), key=lambda c: c.sort_key)
    llm_students = [c for c in students if c.labeler_kind == "llm"]
    uncoded_students = [c for c in students if c.labeler_kind == "uncoded"]
    human_students = [c for c in students if c.labeler == HUMAN]
    largest: dict[tuple, float] = {}
    for c in llm_students:
        largest[(c.student, c.labeler)] = max(largest.get((c.student, c.labeler), -1.0), size_key(c.size))
    gaps = []
    for b in llm_students:
        for a in human_students:
            if a.student != b.student:
                continue
            equal = size_key(a.size) == size_key(b.size)
            smaller_than_largest = size_key(b.size) == largest[(b.student, b.labeler)] and size_key(
                a.size
            ) < size_key(b.size)
            if equal or smaller_than_largest:
                gaps.append(Gap(GAP_HUMAN, a, b))
    for b in uncoded_students:
        gaps += [Gap(GAP_UNCODED, a, b) for a in human_students if a.student == b.student]
    for b in llm_students + uncoded_students:
        a = fewshot_condition(parse_uncoded(b.labeler) or b.labeler)
        if a in present:
            gaps.append(Gap(GAP_FEWSHOT, a, b))
    return gaps
