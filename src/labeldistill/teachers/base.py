"""The interface every teacher follows, and the task it is made for.

A teacher labels texts: `label(texts, ids)` gives one `TeacherLabel` per text, in order;
`usage` counts what that call cost (one labelled part, one USAGE record); `provenance` says
which model and prompt gave the labels. What a teacher needs for long (a loaded local model)
it loads when it is made, so that one teacher labels several parts; what it needs only while
it labels (a server it starts, only for texts the response cache lacks) it holds for the call.
`teachers.factory.make_teacher` makes the teacher a labeler's settings ask for.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from labeldistill.teachers.accounting import Usage
from labeldistill.teachers.result import TeacherLabel


@dataclass(frozen=True)
class TaskContext:
    """What a teacher is made for: the task's name and label order, its codebook (with the
    task's question), the pool (few-shot examples and calibration texts come from it) and the
    human labels by id (the `human` teacher's answers)."""

    name: str
    labels: Sequence[str]
    codebook: str = ""
    pool: pd.DataFrame | None = None
    gold: Mapping[str, str] = field(default_factory=dict)


class Teacher(ABC):
    """Base class: `label`, `usage` and `provenance`."""

    backend: ClassVar[str]
    labeler: str
    usage: Usage

    @abstractmethod
    def label(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[TeacherLabel]:
        """One result per text, in order; a text the teacher fails on has label None and an error."""

    @property
    @abstractmethod
    def provenance(self) -> dict:
        """Backend, model and prompt hash, and whatever else names what gave the labels."""
