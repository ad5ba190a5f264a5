"""What the teachers that send the chat prompt (`openai`, `vllm`) share: the labeler's settings,
its few-shot examples, the prompt's hash and a fresh usage count."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from labeldistill.teachers.accounting import Usage
from labeldistill.teachers.base import TaskContext, Teacher
from labeldistill.teachers.prompts.chat import build_chat_prompt
from labeldistill.teachers.prompts.examples import Example
from labeldistill.teachers.prompts.few_shot import few_shot_examples
from labeldistill.teachers.settings import OpenAISettings, VllmSettings


class ChatTeacher(Teacher):
    """`examples` replaces the labeler's own few-shot examples (the codebook check reorders
    them); `cache_dir` holds the response cache."""

    def __init__(
        self,
        labeler: str,
        settings: OpenAISettings | VllmSettings,
        task: TaskContext,
        examples: Sequence[Example] | None = None,
        cache_dir: Path | None = None,
    ):
        self.labeler = labeler
        self.settings = settings
        if examples is None:
            examples = few_shot_examples(task.pool, settings, labeler)
        self.labels = [str(label) for label in task.labels]
        self.codebook = task.codebook
        self.examples = list(examples)
        self.task = task.name
        self.cache_dir = cache_dir
        self.prompt_hash = build_chat_prompt(self.codebook, self.labels, self.examples).hash
        self.usage = Usage(labeler=labeler, task=task.name, model=settings.model)
