"""Tasks: a table of texts with a human label each, a codebook and a label set.

A task comes from the `tasks:` section of the config. Its texts are a CSV (or parquet) file
with an id, a text and a human label column; optional `coder_labels` hold every individual
coder's label in long form (id, coder, label) for human-human agreement.

A task with `one_vs_rest: true` stands for K binary tasks, one per label, made when the config
is prepared (`workflow_config.expand_one_vs_rest`): `{task}.{label}` asks whether a text is of
that label or of any other (the rest label, `rest_label`). They share the texts file, the
codebook and the coders' file; their labels are mapped from the file's when the parts are
written (`map_labels`), after one split of the file's own labels, so all K share their parts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from labeldistill.conditions import headline_metric
from labeldistill.errors import LabelDistillError
from labeldistill.tasks.files import read_user_table, row_reference

ONE_VS_REST_KEY = "one_vs_rest_of"  # set on the binary tasks a one_vs_rest task expands into
REST_LABEL = "other"


def rest_label(labels: Sequence[str]) -> str:
    """The name of 'any other label' in a one-vs-rest task: `other`, or `other2`, `other3`, ...
    when the scheme has a label of that name."""
    name, n = REST_LABEL, 1
    while name in labels:
        n += 1
        name = f"{REST_LABEL}{n}"
    return name


def one_vs_rest_name(task: str, label: str) -> str:
    """`{task}.{label}`, with every character a task name may not hold (see the schema's
    pattern and the workflow's wildcard constraints) replaced by `_`."""
    return f"{task}.{re.sub(r'[^A-Za-z0-9_.-]', '_', label)}"


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
    # "f1" (the positive label's) for two labels and a named positive label, else "macro_f1".
    headline: str = "f1"
    # One task of a one_vs_rest expansion: the task it came from and the labels of its file.
    group: str | None = None
    source_labels: tuple[str, ...] = ()

    @property
    def task_group(self) -> str:
        """The task the tables group this one under: the one_vs_rest task it came from, or itself."""
        return self.group or self.name

    @property
    def file_labels(self) -> tuple[str, ...]:
        """The labels as spelled in the texts and coders' files."""
        return self.source_labels or self.labels

    @property
    def label_map(self) -> dict[str, str] | None:
        """File label -> task label for a one-vs-rest task (the positive label stays, every
        other becomes the rest label); None for a task whose file has its labels."""
        if not self.source_labels:
            return None
        rest = next(label for label in self.labels if label != self.positive_label)
        return {label: label if label == self.positive_label else rest for label in self.source_labels}

    @property
    def question(self) -> str:
        """What the LLM is asked on top of the codebook: for a one-vs-rest task, which category
        is asked and what the rest label stands for; empty for any other task."""
        if not self.source_labels:
            return ""
        rest = next(label for label in self.labels if label != self.positive_label)
        others = ", ".join(label for label in self.source_labels if label != self.positive_label)
        return (
            f"In this task only the category `{self.positive_label}` is asked: answer "
            f"`{self.positive_label}` if the text belongs to it, and `{rest}` if it belongs to any "
            f"other category ({others})."
        )

    @classmethod
    def from_config(cls, name: str, settings: dict) -> TaskSpec:
        key = f"tasks.{name}"
        labels = tuple(str(label) for label in settings["labels"])
        given = settings.get("positive_label")
        positive = str(labels[0] if given is None else given)
        if positive not in labels:
            raise LabelDistillError(
                f"config key {key}.positive_label: {positive!r} is not one of labels {list(labels)}"
            )
        coder_labels = settings.get("coder_labels")
        origin = settings.get(ONE_VS_REST_KEY) or {}
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
            headline=headline_metric(labels, given),
            group=origin.get("task"),
            source_labels=tuple(str(label) for label in origin.get("labels", ())),
        )


def map_labels(task: TaskSpec, labels: pd.Series) -> pd.Series:
    """The file's labels as the task's (one-vs-rest: the rest label for every other label)."""
    mapping = task.label_map
    return labels if mapping is None else labels.map(mapping).astype(labels.dtype)


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
    unknown = ~frame["label"].isin(task.file_labels)
    if unknown.any():
        row = _first(unknown)
        label = frame["label"][row]
        by_case = {known.casefold(): known for known in task.file_labels}
        hint = ""
        if isinstance(label, str) and label.strip().casefold() in by_case:
            hint = f"; did you mean {by_case[label.strip().casefold()]!r}? (labels are case-sensitive)"
        what = (
            "no label"
            if label is pd.NA or label == ""
            else f"label {label!r} is not one of {list(task.file_labels)}"
        )
        problems.append(
            f"{where(row)}: {what} (tasks.{task.task_group}.labels){hint}; {int(unknown.sum())} such rows"
        )
    return problems


def label_warnings(task: TaskSpec, frame: pd.DataFrame) -> list[str]:
    """Labels of the label set that no text has: no student can learn them, no F1 is defined."""
    counts = frame["label"].value_counts()
    return [
        f"tasks.{task.task_group}.labels: label {label!r} has no text in {task.texts}"
        for label in task.file_labels
        if counts.get(label, 0) == 0
    ]


def load_texts(task: TaskSpec) -> pd.DataFrame:
    """The task's texts as (id, text, label) strings, checked row by row."""
    frame = read_texts(task)
    problems = text_problems(task, frame)
    if problems:
        raise LabelDistillError(problems[0])
    return frame.astype(str)


def coder_id_problem(path: Path, coder_ids: pd.Series, text_ids: pd.Series, config_key: str) -> str | None:
    """Coders' ids must be ids of the texts file (read as strings in both): a file whose ids match
    none, or match only once leading zeros are stripped (a spreadsheet turned 001 into 1), is named."""
    known = set(text_ids)
    unknown = sorted(set(coder_ids) - known)
    if not unknown:
        return None
    stripped = {text.lstrip("0") or "0": text for text in known}
    if all(code.lstrip("0") in stripped for code in unknown[:100]):
        example = unknown[0]
        return (
            f"{path}: ids such as {example!r} match the texts' ids only without leading zeros "
            f"({stripped[example.lstrip('0')]!r}); save the ids as text in both files "
            f"(config key {config_key})"
        )
    if len(unknown) == len(set(coder_ids)):
        return (
            f"{path}: none of its {len(unknown)} ids is an id of the texts file (such as {unknown[0]!r}); "
            f"the coders' file must use the texts' ids (config key {config_key})"
        )
    return None


def _first(mask: pd.Series) -> int:
    return int(mask.to_numpy().argmax())


def load_coder_labels(
    path: Path,
    labels: tuple[str, ...],
    config_key: str = "coder_labels",
    label_map: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Individual coders' labels in long form: id, coder, label. With `label_map` (a one-vs-rest
    task's), `labels` are the file's and the labels returned are mapped to the task's."""
    raw = read_user_table(Path(path), ["id", "coder", "label"], config_key)
    frame = raw[["id", "coder", "label"]].astype("string")
    unknown = ~frame["label"].isin(labels)
    if unknown.any():
        row = _first(unknown)
        where = row_reference(Path(path), row)
        raise LabelDistillError(
            f"{path}, {where}: label {frame['label'][row]!r} is not one of {list(labels)}"
        )
    twice = frame.duplicated(["id", "coder"])
    if twice.any():
        row = _first(twice)
        text, coder = frame["id"][row], frame["coder"][row]
        first = _first((frame["id"] == text) & (frame["coder"] == coder))
        raise LabelDistillError(
            f"{path}, {row_reference(Path(path), row)}: coder {coder!r} labels text {text!r} a second "
            f"time (first at {row_reference(Path(path), first)}); keep one label per coder and text"
        )
    frame = frame.astype(str)
    if label_map is not None:
        frame["label"] = frame["label"].map(label_map)
    return frame
