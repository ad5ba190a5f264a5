"""The `human` teacher: the task's gold column as a labeler (one-hot probabilities, no prompt),
so that students trained on human labels go through the same stages as the LLMs'."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.accounting import Usage
from labeldistill.teachers.base import Teacher
from labeldistill.teachers.result import TeacherLabel


class HumanTeacher(Teacher):
    backend = "human"

    def __init__(
        self, gold: Mapping[str, str], labels: Sequence[str], labeler: str = "human", task: str = ""
    ):
        self.gold = {str(i): label for i, label in gold.items()}
        self.labels = [str(label) for label in labels]
        self.labeler = labeler
        self.usage = Usage(labeler=labeler, task=task, model=None)

    @property
    def provenance(self) -> dict:
        return {"backend": self.backend}

    def label(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[TeacherLabel]:
        if ids is None or len(ids) != len(texts):
            raise LabelDistillError(f"labeler {self.labeler}: the human teacher needs one id per text")
        missing = [str(i) for i in ids if str(i) not in self.gold]
        if missing:
            raise LabelDistillError(f"labeler {self.labeler}: no human label for id(s) {missing[:5]}")
        answers = [self.gold[str(i)] for i in ids]
        results = [
            TeacherLabel(label=label, probabilities=[float(label == name) for name in self.labels])
            for label in answers
        ]
        self.usage = Usage(
            labeler=self.labeler,
            task=self.usage.task,
            model=None,
            texts=len(results),
            failed_texts=sum(result.label is None for result in results),
        )
        return results
