"""What a condition name means, in one place: `{student}@{labeler}` or `fewshot@{labeler}`.

A condition is one way of labelling the test texts: a student trained on one labeler's labels
(over several seeds), or an LLM labeler used directly as a few-shot classifier. The paper's
comparisons are pairs of conditions on the same test texts (`paper_gaps`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from labeldistill.errors import LabelDistillError

HUMAN = "human"
FEWSHOT = "fewshot"
GAP_HUMAN = "human-label student minus LLM-label student"
GAP_FEWSHOT = "few-shot minus LLM-label student"


@dataclass(frozen=True)
class Condition:
    kind: str  # "student" or "fewshot"
    student: str | None
    labeler: str

    @property
    def name(self) -> str:
        return f"{FEWSHOT if self.kind == FEWSHOT else self.student}@{self.labeler}"

    @property
    def rank(self) -> int:
        """Display order: human-label students, LLM-label students, then the LLM few-shot."""
        if self.kind == FEWSHOT:
            return 2
        return 0 if self.labeler == HUMAN else 1


def student_condition(student: str, labeler: str) -> Condition:
    return Condition("student", student, labeler)


def fewshot_condition(labeler: str) -> Condition:
    return Condition(FEWSHOT, None, labeler)


def parse_condition(condition: str) -> Condition:
    head, sep, labeler = str(condition).rpartition("@")
    if not sep or not head or not labeler:
        raise LabelDistillError(
            f"condition {condition!r} is not of the form student@labeler or fewshot@labeler"
        )
    return fewshot_condition(labeler) if head == FEWSHOT else student_condition(head, labeler)


@dataclass(frozen=True)
class Gap:
    comparison: str
    a: Condition
    b: Condition


def paper_gaps(conditions: Iterable[Condition]) -> list[Gap]:
    """PAPER.md's paired comparisons among `conditions`, for every student S and LLM labeler L
    where both sides exist: S@human minus S@L, and fewshot@L minus S@L."""
    present = set(conditions)
    llm_students = sorted(
        (c for c in present if c.kind == "student" and c.labeler != HUMAN),
        key=lambda c: (c.student, c.labeler),
    )
    gaps = []
    for comparison in (GAP_HUMAN, GAP_FEWSHOT):
        for b in llm_students:
            a = (
                student_condition(b.student, HUMAN)
                if comparison == GAP_HUMAN
                else fewshot_condition(b.labeler)
            )
            if a in present:
                gaps.append(Gap(comparison, a, b))
    return gaps
