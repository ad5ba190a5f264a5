"""A labeler's few-shot examples, as its settings choose them: fixed pool ids, or a stratified,
seeded draw from the pool. Apart from teachers/prompts/examples.py so that code that only shows
examples (the codebook check's table) does not depend on the labelers' settings."""

from __future__ import annotations

import pandas as pd

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.prompts.examples import Example, draw_examples
from labeldistill.teachers.settings import LabelerSettings


def few_shot_examples(pool: pd.DataFrame, settings: LabelerSettings, labeler: str) -> list[Example]:
    """A labeler's examples: the fixed pool ids of `examples`, else `shots` drawn from the pool
    (stratified, seeded)."""
    fixed = settings.examples
    if fixed:
        by_id = pool.assign(id=pool["id"].astype(str)).set_index("id")
        missing = [str(i) for i in fixed if str(i) not in by_id.index]
        if missing:
            raise LabelDistillError(
                f"config key labelers.{labeler}.examples: id(s) {missing[:5]} are not in the "
                "task's pool (examples never come from val or test)"
            )
        return [
            Example(text=str(by_id.at[str(i), "text"]), label=str(by_id.at[str(i), "label"])) for i in fixed
        ]
    return draw_examples(pool, settings.shots, settings.shots_seed)
