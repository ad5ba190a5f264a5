"""The `openai` teacher: any OpenAI-compatible endpoint behind the Teacher interface.

The requests, retries, cache and accounting are `openai_api.label_with_api`'s (with
`api: batch`, the Batch API first: teachers/openai_batch.py); this adds what a labeler's
settings ask for around it: with `server:`, a server this job starts and stops
(teachers/managed_server.py), only when the response cache lacks an answer, so that a rerun
of labelled texts starts nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from labeldistill.teachers.accounting import Usage
from labeldistill.teachers.base import TaskContext
from labeldistill.teachers.chat_teacher import ChatTeacher
from labeldistill.teachers.examples import Example
from labeldistill.teachers.openai_api import estimate_api_cost, label_with_api
from labeldistill.teachers.result import TeacherLabel
from labeldistill.teachers.settings import public_url

log = logging.getLogger(__name__)


class OpenAIEndpointTeacher(ChatTeacher):
    """Labels through the endpoint of `settings` (see `label_with_api` for the settings);
    `server_log` is the log of a server it starts."""

    backend = "openai"

    def __init__(
        self,
        labeler: str,
        settings: dict,
        task: TaskContext,
        examples: Sequence[Example] | None = None,
        cache_dir: Path | None = None,
        server_log: Path | None = None,
    ):
        super().__init__(labeler, settings, task, examples, cache_dir)
        self.server_log = server_log

    @property
    def provenance(self) -> dict:
        return {
            "backend": self.backend,
            "model": self.settings["model"],
            "base_url": public_url(self.settings.get("base_url")),  # logged: never a password
            "prompt_hash": self.prompt_hash,
        }

    def label(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[TeacherLabel]:
        texts = list(texts)
        server = self.settings.get("server")
        if server and self._requests_to_send(texts):
            from labeldistill.teachers.managed_server import managed_server

            with managed_server(
                server["command"],
                self.settings["base_url"],
                self.server_log or Path(f"{self.labeler}-server.log"),
                startup_timeout=float(server.get("startup_timeout", 600)),
                config_key=f"labelers.{self.labeler}.server",
            ):
                results, usage = self._label(texts, ids)
        else:
            results, usage = self._label(texts, ids)
        # label_with_api gives its Usage as a dict (its callers write it as JSON).
        self.usage = Usage(**usage)
        return results

    def _requests_to_send(self, texts: list[str]) -> int:
        estimate = estimate_api_cost(
            texts, self.codebook, self.labels, self.examples, self.settings, self.cache_dir, self.labeler
        )
        return estimate.requests

    def _label(self, texts: list[str], ids: Sequence[str] | None) -> tuple[list[TeacherLabel], dict]:
        return label_with_api(
            texts,
            ids,
            self.codebook,
            self.labels,
            self.examples,
            self.settings,
            self.cache_dir,
            self.labeler,
            self.task,
        )
