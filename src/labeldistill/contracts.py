"""Data contracts between stages: the columns of every parquet file, written down once.

Every stage writes through `write_table` and reads through `read_table`, so a file that does
not match its contract fails where it is read, with a message naming the file and the column.
Per-label probabilities are a list column aligned with the task's label order, which is kept
in the file's metadata under `labels`.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from labeldistill.errors import LabelDistillError


@dataclass(frozen=True)
class TableContract:
    name: str
    columns: dict[str, pa.DataType]
    # Columns a writer may leave out and a reader gets as nulls (e.g. consistency for a
    # labeler that draws one answer): they never make an older file unreadable.
    optional: frozenset[str] = frozenset()
    # Whether a file may hold further columns after these (e.g. a corpus's covariates, named by
    # the user): they are written and read back as they are.
    extra_columns: bool = False

    def schema(self, extra_metadata: dict[str, str] | None = None) -> pa.Schema:
        return pa.schema(list(self.columns.items()), metadata=extra_metadata)


PROBS = pa.list_(pa.float64())

# results/{task}/splits/{part}.parquet: the task's texts and their human (gold) label.
SPLIT = TableContract("split", {"id": pa.string(), "text": pa.string(), "label": pa.string()})

# results/{task}/labels/{labeler}/{part}.parquet: one row per text of the part.
# `label` is null when the labeler failed on the text; `error` then says why.
LABELS = TableContract(
    "labels",
    {
        "id": pa.string(),
        "label": pa.string(),
        "probabilities": PROBS,
        "error": pa.string(),
        "labeler": pa.string(),
        "backend": pa.string(),
        "model": pa.string(),
        "prompt_hash": pa.string(),
        "consistency": pa.float64(),  # share of samples that agree with the label
        "n_samples": pa.int64(),
        "raw": pa.string(),  # the answer as given when it was not a valid label
        "model_version": pa.string(),  # the model the server says answered
        "system_fingerprint": pa.string(),  # the server's configuration fingerprint
    },
    optional=frozenset({"consistency", "n_samples", "raw", "model_version", "system_fingerprint"}),
)

# results/{task}/predictions/{condition}/....parquet: one row per test text.
PREDICTIONS = TableContract("predictions", {"id": pa.string(), "label": pa.string(), "probabilities": PROBS})

# results/{task}/disagreements/{labeler}.parquet: the val texts where an LLM labeler's label is
# not the human gold one (`llm_label` null where it failed), most confident first; `coders` is
# the coders' split ("negative 3, other 2"), null without coder labels.
DISAGREEMENTS = TableContract(
    "disagreements",
    {
        "id": pa.string(),
        "text": pa.string(),
        "human_label": pa.string(),
        "llm_label": pa.string(),
        "llm_probability": pa.float64(),
        "coders": pa.string(),
    },
)

# results/{task}/corpus/chunks/{chunk}.parquet and results/{task}/corpus/labels.parquet: one row
# per corpus text: the student's label and probabilities (averaged over the chosen seeds), the
# text's length in characters, then the covariate columns as strings (null where missing).
CORPUS_LABELS = TableContract(
    "corpus labels",
    {"id": pa.string(), "label": pa.string(), "probabilities": PROBS, "n_chars": pa.int64()},
    extra_columns=True,
)


def write_table(
    frame: pd.DataFrame,
    path: str | Path,
    contract: TableContract,
    labels: list[str] | None = None,
    metadata: dict[str, str] | None = None,
) -> None:
    """Write `frame` as parquet with exactly the contract's columns (and the label order),
    whole or not at all."""
    missing = [c for c in contract.columns if c not in frame.columns and c not in contract.optional]
    if missing:
        raise ValueError(f"{contract.name} table for {path} lacks columns {missing}")
    frame = frame.assign(**{c: None for c in contract.optional if c not in frame.columns})
    metadata = {**(metadata or {}), "contract": contract.name}
    if labels is not None:
        metadata["labels"] = json.dumps(list(labels))
    table = pa.Table.from_pandas(
        frame[list(contract.columns)], schema=contract.schema(metadata), preserve_index=False
    )
    if contract.extra_columns:
        for column in [c for c in frame.columns if c not in contract.columns]:
            values = pa.Array.from_pandas(frame[column])  # NaN and None: null
            if pa.types.is_null(values.type):  # all missing: a string column, as in other chunks
                values = values.cast(pa.string())
            table = table.append_column(str(column), values)
    _write_whole(Path(path), lambda partial: pq.write_table(table, partial))


def _write_whole(path: Path, write) -> None:
    """`write(partial)` to a hidden sibling, then rename it to `path`: a killed job never leaves
    a file that looks finished, and concurrent writers (one partial each) never mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        write(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def read_table(path: str | Path, contract: TableContract) -> pd.DataFrame:
    """Read a parquet file and check it against its contract."""
    path = Path(path)
    if not path.exists():
        raise LabelDistillError(f"{path}: file not found (expected a {contract.name} table)")
    table = pq.read_table(path)
    for column in contract.optional - set(table.column_names):
        table = table.append_column(column, pa.nulls(len(table), contract.columns[column]))
    missing = [c for c in contract.columns if c not in table.column_names]
    if missing:
        raise LabelDistillError(
            f"{path}: not a {contract.name} table, missing columns {missing} "
            f"(expected {list(contract.columns)})"
        )
    extra = [c for c in table.column_names if c not in contract.columns] if contract.extra_columns else []
    return table.select([*contract.columns, *extra]).to_pandas()


def table_metadata(path: str | Path, key: str) -> dict | None:
    """A JSON value stored in a table's metadata under `key` (e.g. provenance), or None."""
    raw = (pq.read_schema(path).metadata or {}).get(key.encode())
    return json.loads(raw) if raw else None


def table_labels(path: str | Path) -> list[str] | None:
    """The label order stored with a table, or None if it has none."""
    metadata = pq.read_schema(path).metadata or {}
    raw = metadata.get(b"labels")
    return json.loads(raw) if raw else None


# ---- JSON records ------------------------------------------------------------------------
# The small JSON files between stages (metrics, agreement, usage, training, comparisons, split
# summaries) have contracts too: the keys a reader relies on and their types. Writers may add
# keys; a record missing a key, or holding a value of the wrong type, fails where it is
# written or read, naming the file and the key.

NUMBER = (int, float)
MAYBE_NUMBER = (int, float, type(None))
MAYBE_STR = (str, type(None))


@dataclass(frozen=True)
class RecordContract:
    name: str
    fields: dict[str, tuple[type, ...]]
    # Keys that records written before they existed lack: checked when present, and a reader
    # takes a default for them (e.g. the headline of a metrics record: `f1`).
    optional: dict[str, tuple[type, ...]] = field(default_factory=dict)

    def check(self, record: dict, where: str | Path) -> None:
        if not isinstance(record, dict):
            raise LabelDistillError(f"{where}: not a {self.name} record (expected a JSON object)")
        for key, types in {**self.fields, **self.optional}.items():
            if key not in record:
                if key in self.optional:
                    continue
                raise LabelDistillError(f"{where}: {self.name} record lacks key {key!r}")
            value = record[key]
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                wanted = " or ".join("null" if t is type(None) else t.__name__ for t in types)
                raise LabelDistillError(
                    f"{where}: key {key!r} of the {self.name} record is {value!r}, expected {wanted}"
                )


# results/{task}/metrics/{condition}/....json: one condition (one seed) scored on test.
METRICS = RecordContract(
    "metrics",
    {
        "task": (str,),
        "condition": (str,),
        "kind": (str,),
        "labeler": (str,),
        "student": MAYBE_STR,
        "seed": (int, type(None)),  # a student's seed; a few-shot condition's prompt draw
        "train_size": MAYBE_STR,  # '250' or 'all'; None for a few-shot condition
        "n": (int,),
        "n_failed": (int,),
        **{name: MAYBE_NUMBER for name in ("f1", "precision", "recall", "accuracy", "macro_f1")},
        "ci": (dict,),
        "positive_label": (str,),
    },
    optional={
        "headline": (str,),  # "f1" (of the positive label) or "macro_f1"
        "per_class": (list,),  # per label: label, precision, recall, f1, support
        "confusion": (dict,),  # labels, counts (gold rows, predicted columns), failed
        "label_counts": (dict,),  # test texts per gold label
    },
)
# results/{task}/agreement/{labeler}.json: the validation step of one LLM labeler.
AGREEMENT = RecordContract(
    "agreement",
    {
        "task": (str,),
        "labeler": (str,),
        "n": (int,),
        "n_failed": (int,),
        **{name: MAYBE_NUMBER for name in ("accuracy", "f1", "cohen_kappa", "krippendorff_alpha")},
    },
    optional={"headline": (str,), "macro_f1": MAYBE_NUMBER},
)
# results/{task}/usage/{labeler}/{part}.json: what labeling one part cost.
USAGE = RecordContract(
    "usage",
    {
        "task": (str,),
        "labeler": (str,),
        "backend": (str,),
        "texts": (int,),
        "failed_texts": (int,),
        "truncated_texts": (int,),  # cut to max_text_tokens before they were labelled
        "seconds": NUMBER,
    },
    # Of the tokens paid, those the provider's prompt cache served and those spent reasoning:
    # records written before they were counted lack them (read as 0).
    optional={"prompt_cache_tokens": (int,), "reasoning_tokens": (int,)},
)
# results/{task}/students/.../training.json: what a student was trained on.
CORPUS_CHECK = RecordContract(
    "corpus check",
    {"task": (str,), "file": (str,), "rows": (int,), "id_column": (str,), "text_column": (str,)},
)

# results/{task}/uncoded/plan.json: what the uncoded file held and which texts are labelled.
UNCODED_PLAN = RecordContract(
    "uncoded plan",
    {
        "task": (str,),
        "file": (str,),
        "rows": (int,),
        "dropped_twins_of_coded": (int,),
        "dropped_repeated": (int,),
        "available": (int,),
        "planned": (int,),
        "seed": (int,),
        "chunks": (int,),
    },
)
# results/{task}/uncoded/{labeler}.json: a source's labels of the uncoded texts, and whether
# the coded test texts look like a random sample of them.
UNCODED_CHECK = RecordContract(
    "uncoded check",
    {
        "task": (str,),
        "labeler": (str,),
        "planned": (int,),
        "labelled": (int,),
        "failed": (int,),
        "assumption": (str,),
        "checks": (dict,),
        "warnings": (list,),
    },
)

TRAINING = RecordContract(
    "training",
    {
        "kind": (str,),
        "settings": (dict,),
        "labels": (list,),
        "seed": (int,),
        "n_drawn": (int,),
        "n_train": (int,),
        "n_dropped_failed": (int,),
        "drawn_ids_hash": (str,),
        "train_ids_hash": (str,),
    },
    # What the model card states beyond these: task, student, labeler, source, code, date.
    optional={"card": (dict,)},
)
# results/{task}/calibration/{labeler}.json: a local labeler's calibration, measured once.
CALIBRATION = RecordContract(
    "calibration",
    {
        "task": (str,),
        "labeler": (str,),
        "labels": (list,),
        "prompt_hash": (str,),
        "method": (str,),
        "n_texts": (int,),
        "mean_prediction": (list,),
        "target_prior": (list,),
        "decision_offsets": (list,),
    },
)
# results/{task}/codebook_check/{labeler}.json: the codebook check of one labeler's prompt on a
# sample of val texts (stages/codebook_check.py); a flip record is null where no other order exists.
CODEBOOK_CHECK = RecordContract(
    "codebook check",
    {
        "task": (str,),
        "labeler": (str,),
        "backend": (str,),
        "n_texts": (int,),
        "valid_share": MAYBE_NUMBER,
        "n_quoted": (int,),
        "quoted_accuracy": MAYBE_NUMBER,
        "examples_order": (dict, type(None)),
        "label_order": (dict, type(None)),
    },
)
# results/{task}/splits/summary.json: sizes, label counts and duplicates of a task's split.
SPLIT_SUMMARY = RecordContract(
    "split summary",
    {"task": (str,), "n_texts": (int,), "parts": (dict,), "duplicates": (dict,)},
    optional={"task_group": (str,), "labels": (list,), "headline": (str,), "split": (dict,)},
)
# results/{task}/comparisons.json: seed-mean intervals per condition and paired gaps.
COMPARISONS = RecordContract(
    "comparisons",
    {"task": (str,), "positive_label": (str,), "n_test": (int,), "conditions": (list,), "gaps": (list,)},
    optional={"headline": (str,), "label_counts": (dict,)},
)

# results/{task}/corpus/estimates.json: the shares of the labels in a task's corpus (naive,
# human-only, PPI++), effective labels, the planner, by covariate, and the assumption's checks.
CORPUS_ESTIMATES = RecordContract(
    "corpus estimates",
    {
        "task": (str,),
        "student": (str,),
        "labeler": (str,),
        "seeds": (list,),
        "labels": (list,),
        "positive_label": (str,),
        "n_corpus": (int,),
        "n_test": (int,),
        "shares": (list,),
        "effective_labels": (list,),
        "plan": (list,),
        "covariates": (list,),
        "by_group": (dict,),
        "regression": (list,),
        "checks": (dict,),
        "warnings": (list,),
    },
)


def jsonable(value):
    """Replace NaN and infinities (not JSON) by None, recursively; numpy scalars by Python ones."""
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", None) == 0:
        value = value.item()  # a numpy scalar
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN and infinities are not JSON
    return value


def write_record(record: dict, path: str | Path, contract: RecordContract) -> None:
    """Check `record` against its contract and write it as JSON (NaN as null), whole or not at all."""
    path = Path(path)
    record = jsonable(record)
    contract.check(record, path)
    text = json.dumps(record, indent=2, default=str) + "\n"
    _write_whole(path, lambda partial: partial.write_text(text, encoding="utf-8"))


def read_record(path: str | Path, contract: RecordContract) -> dict:
    """Read a JSON record and check it against its contract."""
    path = Path(path)
    if not path.exists():
        raise LabelDistillError(f"{path}: file not found (expected a {contract.name} record)")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise LabelDistillError(f"{path}: not valid JSON ({error})") from error
    contract.check(record, path)
    return record


def no_label_line(path: Path, labels: pd.DataFrame, part: str, consequence: str) -> str:
    """The one line for a LABELS table (of `part`) in which no text has a label: a score of it
    would read as a result, whatever max_failed_share allows."""
    names = labels["labeler"].dropna().unique()
    labeler = names[0] if len(names) else Path(path).parent.name
    errors = Counter(" ".join(str(e).split()) for e in labels["error"].dropna() if str(e).strip())
    common = errors.most_common(1)[0][0][:200] if errors else "no error given"
    return (
        f"{path}: 0 of {len(labels)} {part} texts have a label from labeler {labeler} (every "
        f"answer failed or fell outside the labels; most common error: {common}), so {consequence}; "
        "check the labeler's server, model and codebook, and the error column of that file"
    )
