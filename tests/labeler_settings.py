"""An openai labeler's settings as a job parses its config block, for the tests that call the
teacher's functions directly."""

from labeldistill.teachers.settings import OpenAISettings, parse_labeler


def openai(**settings) -> OpenAISettings:
    """`settings` (an openai labeler's block without its backend) parsed as a job parses it."""
    return parse_labeler("gpt", {"backend": "openai", **settings})
