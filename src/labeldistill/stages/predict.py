"""Stage: a trained student labels texts: the test texts (a PREDICTIONS table) or any file.

The train stage calls `write_predictions` with the student it has just fitted (one job trains
and predicts: loading torch and the model again for 200 texts cost more than the prediction);
`run` predicts with a saved student.

`label_file` is `labeldistill predict`: a saved student labels a CSV or parquet file of any size
outside the workflow. The file is read as a corpus is (corpus/chunks.py: its header and rows
checked in one pass, then read chunk by chunk), and the output is written chunk by chunk under a
hidden name, renamed when whole: the id, `probabilities.<label>` for every label (the
PREDICTIONS table's `probabilities` list, one column per label) and the predicted `label`.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from labeldistill.contracts import PREDICTIONS, SPLIT, read_table, write_table
from labeldistill.corpus.chunks import CorpusSpec, count_rows, header_columns, plan_chunks, read_chunk
from labeldistill.errors import LabelDistillError
from labeldistill.logs import progress_bar
from labeldistill.students import Student, load_student, saved_student
from labeldistill.tasks.files import is_parquet

OUT_SUFFIXES = (".csv", ".parquet", ".pq")
CHUNK_SIZE = 2000  # rows read, predicted and written at a time

log = logging.getLogger(__name__)


def write_predictions(student: Student, test_texts: Path, out_path: Path) -> None:
    """The student's labels and probabilities of the test texts as a PREDICTIONS table."""
    out_path = Path(out_path)
    test = read_table(test_texts, SPLIT)  # the human label stays unseen here
    started = time.perf_counter()
    proba = student.predict_proba(list(test["text"].fillna("")))
    seconds = time.perf_counter() - started
    frame = pd.DataFrame(
        {
            "id": test["id"],
            "label": [student.labels[i] for i in proba.argmax(axis=1)] if len(proba) else [],
            "probabilities": [[float(p) for p in row] for row in proba],
        }
    )
    write_table(frame, out_path, PREDICTIONS, labels=student.labels)
    log.info(
        "%s: %d test texts in %.1f s, predicted %s",
        out_path,
        len(frame),
        seconds,
        frame["label"].value_counts().to_dict(),
    )


def run(student_dir: Path, test_texts: Path, out_path: Path, threads: int = 1) -> None:
    """A saved student (e.g. one kept from an earlier run) predicts the test texts."""
    write_predictions(load_student(Path(student_dir), threads=threads), test_texts, out_path)


def probability_columns(labels: list[str]) -> list[str]:
    return [f"probabilities.{label}" for label in labels]


def label_file(
    student_dir: Path,
    texts: Path,
    out: Path,
    id_column: str = "id",
    text_column: str = "text",
    chunk_size: int = CHUNK_SIZE,
    threads: int = 1,
) -> dict[str, int]:
    """The saved student's labels and probabilities of every row of `texts`, into `out`.

    Checked before the model is loaded, each problem one line: the out suffix (.csv, .parquet),
    the student folder (its student.json), the file's id and text columns and its rows (an empty
    or repeated id, an empty text). Returns the count of each predicted label.
    """
    student_dir, texts, out = Path(student_dir), Path(texts), Path(out)
    if int(chunk_size) < 1:
        raise LabelDistillError(f"--chunk-size {chunk_size}: expected an integer >= 1")
    if out.suffix.lower() not in OUT_SUFFIXES:
        raise LabelDistillError(
            f"--out {out}: cannot write {out.suffix or 'a file without a suffix'!r} "
            f"(expected a name ending in {', '.join(OUT_SUFFIXES)})"
        )
    labels = [str(label) for label in saved_student(student_dir)["labels"]]
    present = header_columns(texts)
    for option, column in (("--id-column", id_column), ("--text-column", text_column)):
        if column not in present:
            raise LabelDistillError(
                f"{texts}: no column {column!r} (columns present: {present}); name it with {option}"
            )
    columns = [id_column, *probability_columns(labels), "label"]
    if len(set(columns)) < len(columns):
        raise LabelDistillError(f"--id-column {id_column!r}: the output has a column of that name already")
    spec = CorpusSpec(task="predict", path=texts, id_column=id_column, text_column=text_column)
    rows, offsets = count_rows(texts, chunk_size, cache=None, columns=(id_column, text_column))
    if rows == 0:
        raise LabelDistillError(f"{texts}: holds no texts")
    student = load_student(student_dir, threads=threads)
    counts: Counter = Counter()
    started = time.perf_counter()
    with _ChunkWriter(out, columns) as writer, progress_bar(desc=str(texts), total=rows, unit="text") as bar:
        for chunk in plan_chunks(rows, chunk_size, offsets):
            frame = read_chunk(spec, chunk)
            proba = student.predict_proba(list(frame["text"]))
            predicted = [labels[i] for i in proba.argmax(axis=1)]
            writer.write(
                pd.DataFrame(
                    {
                        id_column: frame["id"].to_numpy(),
                        **dict(zip(probability_columns(labels), proba.T, strict=True)),
                        "label": predicted,
                    }
                )
            )
            counts.update(predicted)
            bar.update(chunk.size)
    seconds = time.perf_counter() - started
    log.info(
        "%s: %d texts in %.1f s (%.0f texts/s), predicted %s",
        out,
        rows,
        seconds,
        rows / seconds,
        dict(counts),
    )
    return {label: counts.get(label, 0) for label in labels}


class _ChunkWriter:
    """Appends frames to a CSV or parquet file written under a hidden name, renamed when whole
    (as contracts.write_table writes: a stopped run never leaves a file that looks finished)."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path, self.columns = path, columns
        self.partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
        self.parquet = is_parquet(path)
        self.writer: pq.ParquetWriter | None = None
        self.first = True

    def __enter__(self) -> _ChunkWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self

    def write(self, frame: pd.DataFrame) -> None:
        if self.parquet:
            table = pa.Table.from_pandas(frame[self.columns], preserve_index=False)
            if self.writer is None:
                self.writer = pq.ParquetWriter(self.partial, table.schema)
            self.writer.write_table(table)
        else:
            frame[self.columns].to_csv(
                self.partial, mode="w" if self.first else "a", header=self.first, index=False
            )
        self.first = False

    def __exit__(self, kind, error, trace) -> None:
        if self.writer is not None:
            self.writer.close()
        if kind is None:
            os.replace(self.partial, self.path)
        else:
            self.partial.unlink(missing_ok=True)
