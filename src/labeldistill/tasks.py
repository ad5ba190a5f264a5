"""Tasks: a table of texts with a human label each, a codebook and a label set.

A task comes from the `tasks:` section of the config. Its texts are a CSV (or parquet) file
with an id, a text and a human label column; optional `coder_labels` hold every individual
coder's label in long form (id, coder, label) for human-human agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from labeldistill.errors import LabelDistillError


@dataclass(frozen=True)
class TaskSpec:
    name: str
    texts: Path
    codebook: Path
    labels: tuple[str, ...]
    positive_label: str
    id_column: str = "id"
    text_column: str = "text"
    label_column: str = "label"
    coder_labels: Path | None = None

    @classmethod
    def from_config(cls, name: str, settings: dict) -> TaskSpec:
        key = f"tasks.{name}"
        labels = tuple(str(label) for label in settings["labels"])
        positive = str(settings.get("positive_label", labels[0]))
        if positive not in labels:
            raise LabelDistillError(
                f"config key {key}.positive_label: {positive!r} is not one of labels {list(labels)}"
            )
        coder_labels = settings.get("coder_labels")
        return cls(
            name=name,
            texts=Path(settings["texts"]),
            codebook=Path(settings["codebook"]),
            labels=labels,
            positive_label=positive,
            id_column=settings.get("id_column", "id"),
            text_column=settings.get("text_column", "text"),
            label_column=settings.get("label_column", "label"),
            coder_labels=Path(coder_labels) if coder_labels else None,
        )


def _read_any(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise LabelDistillError(f"{path}: file not found")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def load_texts(task: TaskSpec) -> pd.DataFrame:
    """The task's texts as (id, text, label) strings, checked row by row."""
    raw = _read_any(task.texts)
    wanted = {"id": task.id_column, "text": task.text_column, "label": task.label_column}
    missing = [column for column in wanted.values() if column not in raw.columns]
    if missing:
        raise LabelDistillError(
            f"{task.texts}: missing column(s) {missing} for task {task.name!r} "
            f"(columns present: {list(raw.columns)}; set tasks.{task.name}.*_column)"
        )
    frame = pd.DataFrame({new: raw[old].astype(str) for new, old in wanted.items()})
    # Row numbers as a user sees them in a CSV: header is line 1.
    duplicated = frame["id"].duplicated()
    if duplicated.any():
        row = int(duplicated.idxmax()) + 2
        raise LabelDistillError(f"{task.texts}, line {row}: duplicate id {frame['id'][row - 2]!r}")
    empty = frame["text"].str.strip() == ""
    if empty.any():
        row = int(empty.idxmax()) + 2
        raise LabelDistillError(f"{task.texts}, line {row}: empty text")
    unknown = ~frame["label"].isin(task.labels)
    if unknown.any():
        row = int(unknown.idxmax()) + 2
        raise LabelDistillError(
            f"{task.texts}, line {row}: label {frame['label'][row - 2]!r} is not one of "
            f"{list(task.labels)} (tasks.{task.name}.labels)"
        )
    return frame


def load_coder_labels(path: Path, labels: tuple[str, ...]) -> pd.DataFrame:
    """Individual coders' labels in long form: id, coder, label."""
    raw = _read_any(Path(path))
    missing = [c for c in ("id", "coder", "label") if c not in raw.columns]
    if missing:
        raise LabelDistillError(f"{path}: missing column(s) {missing} (expected id, coder, label)")
    frame = raw[["id", "coder", "label"]].astype(str)
    unknown = ~frame["label"].isin(labels)
    if unknown.any():
        row = int(unknown.idxmax()) + 2
        raise LabelDistillError(
            f"{path}, line {row}: label {frame['label'].iloc[row - 2]!r} is not one of {list(labels)}"
        )
    return frame
