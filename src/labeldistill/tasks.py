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
from labeldistill.table_files import read_user_table, row_reference


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
    encoding: str = "utf-8"  # of the CSV files
    sep: str = ","

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
            encoding=settings.get("encoding", "utf-8"),
            sep=settings.get("sep", ","),
        )


def read_texts(task: TaskSpec) -> pd.DataFrame:
    """The task's texts file as (id, text, label) string columns, nulls kept as NA; unchecked."""
    wanted = {"id": task.id_column, "text": task.text_column, "label": task.label_column}
    raw = read_user_table(
        task.texts, list(wanted.values()), f"tasks.{task.name}.texts", encoding=task.encoding, sep=task.sep
    )
    return pd.DataFrame({new: raw[old].astype("string") for new, old in wanted.items()}).reset_index(
        drop=True
    )


def text_problems(task: TaskSpec, frame: pd.DataFrame) -> list[str]:
    """One line per kind of problem in the rows (its first instance): null or duplicate ids,
    empty or null texts, labels outside the label set (with the label it matches but for case)."""

    def where(row: int) -> str:
        return f"{task.texts}, {row_reference(task.texts, row, task.encoding, task.sep)}"

    problems = []
    null_id = frame["id"].isna() | (frame["id"].str.strip() == "")
    if null_id.any():
        problems.append(f"{where(_first(null_id))}: empty id")
    duplicated = frame["id"].duplicated() & ~null_id
    if duplicated.any():
        row = _first(duplicated)
        first = _first(frame["id"] == frame["id"][row])
        problems.append(
            f"{where(row)}: duplicate id {frame['id'][row]!r} (first at "
            f"{row_reference(task.texts, first, task.encoding, task.sep)}); ids must be unique"
        )
    empty = frame["text"].isna() | (frame["text"].fillna("").str.strip() == "")
    if empty.any():
        what = "null text" if frame["text"].isna()[_first(empty)] else "empty text"
        problems.append(
            f"{where(_first(empty))}: {what} ({int(empty.sum())} such rows; drop them or fill them in)"
        )
    unknown = ~frame["label"].isin(task.labels)
    if unknown.any():
        row = _first(unknown)
        label = frame["label"][row]
        by_case = {known.casefold(): known for known in task.labels}
        hint = ""
        if isinstance(label, str) and label.strip().casefold() in by_case:
            hint = f"; did you mean {by_case[label.strip().casefold()]!r}? (labels are case-sensitive)"
        what = (
            "no label"
            if label is pd.NA or label == ""
            else f"label {label!r} is not one of {list(task.labels)}"
        )
        problems.append(
            f"{where(row)}: {what} (tasks.{task.name}.labels){hint}; {int(unknown.sum())} such rows"
        )
    return problems


def label_warnings(task: TaskSpec, frame: pd.DataFrame) -> list[str]:
    """Labels of the label set that no text has: no student can learn them, no F1 is defined."""
    counts = frame["label"].value_counts()
    return [
        f"tasks.{task.name}.labels: label {label!r} has no text in {task.texts}"
        for label in task.labels
        if counts.get(label, 0) == 0
    ]


def load_texts(task: TaskSpec) -> pd.DataFrame:
    """The task's texts as (id, text, label) strings, checked row by row."""
    frame = read_texts(task)
    problems = text_problems(task, frame)
    if problems:
        raise LabelDistillError(problems[0])
    return frame.astype(str)


def _first(mask: pd.Series) -> int:
    return int(mask.to_numpy().argmax())


def load_coder_labels(path: Path, labels: tuple[str, ...], config_key: str = "coder_labels") -> pd.DataFrame:
    """Individual coders' labels in long form: id, coder, label."""
    raw = read_user_table(Path(path), ["id", "coder", "label"], config_key)
    frame = raw[["id", "coder", "label"]].astype("string")
    unknown = ~frame["label"].isin(labels)
    if unknown.any():
        row = _first(unknown)
        where = row_reference(Path(path), row)
        raise LabelDistillError(
            f"{path}, {where}: label {frame['label'][row]!r} is not one of {list(labels)}"
        )
    return frame.astype(str)
