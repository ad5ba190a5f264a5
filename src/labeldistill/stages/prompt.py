"""`labeldistill prompt`: what a labeler sends for one text, built by the code the labeling
jobs run. A `local` labeler's completion prompt as the model reads it, an `openai` labeler's
JSON request body (the text cut to max_text_tokens as the labeling job cuts it), a `vllm`
labeler's chat messages; the few-shot examples are drawn from the task's pool, split from
the task's texts as the workflow splits them. The text defaults to the first validation text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from labeldistill.conditions import parse_source
from labeldistill.config.design import StudyDesign
from labeldistill.errors import LabelDistillError
from labeldistill.stages.annotate import read_codebook
from labeldistill.tasks.spec import TaskSpec, load_texts, map_labels
from labeldistill.tasks.splits import SplitSizes, split_task, task_split_settings
from labeldistill.teachers.prompts.chat import build_chat_prompt
from labeldistill.teachers.prompts.completion import build_prompt
from labeldistill.teachers.prompts.few_shot import few_shot_examples
from labeldistill.teachers.settings import parse_labeler


def _choice(config: Mapping, key: str, name: str, hint: str) -> Mapping:
    block = config.get(key) or {}
    if name not in block:
        raise LabelDistillError(
            f"config key {key}: no {hint} {name!r} (the config has {sorted(block) or 'none'})"
        )
    return block[name]


def show_prompt(config: Mapping, task: str, source: str, text: str | None = None) -> str:
    """The prompt (or request body) label source `source` (a labeler, or one of its draws:
    gemma~shots1) sends for `text` in `task`; `config` is a prepared config (`prepare`)."""
    task_block = _choice(config, "tasks", task, "task")
    labeler, _ = parse_source(source)
    block = _choice(config, "labelers", labeler, "labeler")
    settings = parse_labeler(labeler, StudyDesign.source_settings(config["labelers"], source))
    if settings.backend == "ensemble":
        raise LabelDistillError(
            f"labeler {labeler!r} combines other labelers' labels and sends no prompt; ask for one of "
            f"its members: {', '.join(map(str, block.get('members', [])))}"
        )
    spec = TaskSpec.from_config(task, task_block)
    split = task_split_settings(config["split"], task_block)
    parts = split_task(load_texts(spec), SplitSizes.from_config(split), int(split["seed"]), task=task)
    pool = parts["pool"].assign(label=map_labels(spec, parts["pool"]["label"]))
    codebook = read_codebook(spec.codebook, spec.question)
    labels = [str(label) for label in spec.labels]
    examples = few_shot_examples(pool, settings, labeler)
    text = str(parts["val"]["text"].iloc[0]) if text is None else text
    if settings.backend == "local":
        return build_prompt(codebook, labels, examples).full(text)
    messages = build_chat_prompt(codebook, labels, examples).messages(_as_sent(text, settings))
    if settings.backend == "openai":
        from labeldistill.teachers.openai.protocol import request_payload

        return json.dumps(request_payload(settings, labels, messages, 0), indent=2, ensure_ascii=False)
    return json.dumps(messages, indent=2, ensure_ascii=False)


def _as_sent(text: str, settings) -> str:
    """An `openai` labeler's text cut to max_text_tokens, counted as its labeling job counts;
    a `vllm` labeler cuts with the model's own tokenizer, which is not loaded here."""
    if settings.backend != "openai":
        return text
    from labeldistill.teachers.prompts.token_count import token_counter
    from labeldistill.teachers.prompts.truncation import truncate

    return truncate(text, settings.max_text_tokens, token_counter(settings.model))[0]
