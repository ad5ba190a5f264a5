"""Data contracts between stages: the columns of every parquet file, written down once.

Every stage writes through `write_table` and reads through `read_table`, so a file that does
not match its contract fails where it is read, with a message naming the file and the column.
Per-label probabilities are a list column aligned with the task's label order, which is kept
in the file's metadata under `labels`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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


def write_table(
    frame: pd.DataFrame,
    path: str | Path,
    contract: TableContract,
    labels: list[str] | None = None,
    metadata: dict[str, str] | None = None,
) -> None:
    """Write `frame` as parquet with exactly the contract's columns (and the label order)."""
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
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


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
    return table.select(list(contract.columns)).to_pandas()


def table_metadata(path: str | Path, key: str) -> dict | None:
    """A JSON value stored in a table's metadata under `key` (e.g. provenance), or None."""
    raw = (pq.read_schema(path).metadata or {}).get(key.encode())
    return json.loads(raw) if raw else None


def table_labels(path: str | Path) -> list[str] | None:
    """The label order stored with a table, or None if it has none."""
    metadata = pq.read_schema(path).metadata or {}
    raw = metadata.get(b"labels")
    return json.loads(raw) if raw else None
