"""Texts whose label the fake OpenAI server can read off (tests/fake_openai_server.py answers
the first label that occurs in the text), for the tests of the openai teacher."""

from __future__ import annotations

from pathlib import Path

LABELS = ["positive", "negative", "neutral"]
CODEBOOK = "Decide whether the text is positive, negative or neutral."
WORKER = Path(__file__).resolve().parent / "openai_label_worker.py"


def make_texts(n: int, tag: str) -> list[str]:
    return [f"{tag} text {i} is {LABELS[i % 3]} overall" for i in range(n)]


def truth(text: str) -> str:
    return next(label for label in LABELS if f" {label} " in text)
