"""A task's corpus: unlabelled texts of any size, cut into chunks that a student labels one by one.

The corpus is a CSV or parquet file with an id column, a text column and optional covariate
columns (a year, a party). Planning the chunks happens when the workflow is parsed and needs
the number of rows: a parquet file says it in its metadata; a CSV file is read once, record by
record (Python's csv module, so a newline inside a quoted field does not end a record, as for
pandas), and the count is cached by the file's path, size and modification time together with
the byte offset where every chunk starts. A chunk job then seeks to its offset and parses only
its own rows; a parquet chunk reads only the row groups that hold its rows.

Covariates are kept as strings (missing: None) in every chunk, so that chunks of one file
always agree on their types; `corpus_estimates` turns them into numbers where it can.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from labeldistill.errors import LabelDistillError
from labeldistill.tasks.files import bytes_column_line, content_kind_problem, is_parquet

ROW_COUNT_CACHE = Path(".snakemake") / "labeldistill" / "corpus_rows.json"
CHUNK_COLUMNS = ("id", "label", "probabilities", "n_chars")  # then the covariates


@dataclass(frozen=True)
class CorpusSpec:
    """Where a task's corpus is and which columns hold what (config `tasks.<name>.corpus`)."""

    task: str
    path: Path
    id_column: str = "id"
    text_column: str = "text"
    covariates: tuple[str, ...] = ()
    block: str = "corpus"  # the task's config key that names the file: corpus or uncoded

    @classmethod
    def from_config(cls, task: str, settings: dict, block: str = "corpus") -> CorpusSpec:
        key = f"tasks.{task}.{block}"
        if not isinstance(settings, dict) or not settings.get("texts"):
            raise LabelDistillError(f"config key {key}.texts: required (a CSV or parquet file of texts)")
        covariates = tuple(str(c) for c in settings.get("covariates") or ())
        reserved = set(covariates) & set(CHUNK_COLUMNS)
        if reserved:
            raise LabelDistillError(
                f"config key {key}.covariates: {sorted(reserved)} clash with the columns the workflow "
                f"writes {list(CHUNK_COLUMNS)}: rename them in the file"
            )
        return cls(
            task=task,
            path=Path(settings["texts"]),
            id_column=str(settings.get("id_column", "id")),
            text_column=str(settings.get("text_column", "text")),
            covariates=covariates,
            block=block,
        )

    @property
    def columns(self) -> list[str]:
        return [self.id_column, self.text_column, *self.covariates]

    def settings(self) -> dict:
        """What a chunk depends on besides its rows (paths are inputs, not params)."""
        return {
            "id_column": self.id_column,
            "text_column": self.text_column,
            "covariates": list(self.covariates),
        }


@dataclass(frozen=True)
class Chunk:
    """Rows [start, stop) of the corpus; `offset`: byte where row `start` begins (CSV only)."""

    index: int
    start: int
    stop: int
    offset: int | None = None

    @property
    def size(self) -> int:
        return self.stop - self.start


# ---- columns -------------------------------------------------------------------------------


def header_columns(path: Path) -> list[str]:
    """The column names of a CSV (its first record) or a parquet file (its schema): no data read."""
    path = Path(path)
    if not path.is_file():
        raise LabelDistillError(f"{path}: file not found")
    problem = content_kind_problem(path)
    if problem is None and path.suffix.lower() == ".gz":
        problem = (
            f"{path}: a compressed corpus cannot be read chunk by chunk; decompress it or save it as parquet"
        )
    if problem:
        raise LabelDistillError(problem)
    if is_parquet(path):
        return list(pq.read_schema(path).names)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return next(csv.reader(handle), [])
    except UnicodeDecodeError as error:
        raise LabelDistillError(_not_utf8(path, error)) from None


def check_columns(path: Path, wanted: Sequence[str], config_key: str) -> None:
    """One line naming the config key when a file lacks columns (read from the header only)."""
    present = header_columns(path)
    missing = [column for column in wanted if column not in present]
    if missing:
        raise LabelDistillError(
            f"config key {config_key}: {path} lacks column(s) {missing} (columns present: {present})"
        )


# ---- counting and planning -----------------------------------------------------------------


def _records(handle) -> Iterator[tuple[int, list[str]]]:
    """(byte offset where the record starts, its fields) for every record after the header.

    The csv module pulls one physical line at a time from the generator, so the bytes the
    generator has handed out when a record comes back are exactly the bytes up to its end.
    Blank lines are skipped, as pandas does.
    """
    consumed = 0

    def lines() -> Iterator[str]:
        nonlocal consumed
        for raw in handle:
            consumed += len(raw)
            yield raw.decode("utf-8")

    first = handle.read(3)
    consumed = 3 if first == b"\xef\xbb\xbf" else 0  # a UTF-8 byte order mark
    handle.seek(consumed)
    reader = csv.reader(lines())
    next(reader, None)  # the header
    while True:
        start = consumed
        record = next(reader, None)
        if record is None:
            return
        if record:
            yield start, record


@dataclass
class RowCheck:
    """What a pass over the corpus finds wrong in its rows: an empty id, a repeated id, an empty
    text. Ids are kept as hashes (8 bytes a row), so a corpus of millions of rows fits; the rows
    of a repeated id are found by a second pass, made only when there is one."""

    path: Path
    id_index: int
    text_index: int
    hashes: array = dataclasses.field(default_factory=lambda: array("q"))

    def add(self, row: int, fields: Sequence) -> None:
        text_id = fields[self.id_index] if self.id_index < len(fields) else ""
        text = fields[self.text_index] if self.text_index < len(fields) else ""
        if text_id is None or not str(text_id).strip():
            raise LabelDistillError(f"{self.path}, row {row + 1} of the texts: empty id")
        if text is None or not str(text).strip():
            raise LabelDistillError(
                f"{self.path}, row {row + 1} of the texts: empty text (id {text_id!r}); drop such rows "
                "before labeling (an empty text would be labelled and counted in the shares)"
            )
        self.hashes.append(hash(str(text_id)))

    def repeated_hash(self) -> int | None:
        hashes = np.sort(np.frombuffer(self.hashes, dtype=np.int64))
        same = hashes[1:][hashes[1:] == hashes[:-1]]
        return int(same[0]) if len(same) else None


def _repeated_id_problem(path: Path, ids: Iterator[str], wanted: int) -> str | None:
    seen: dict[str, int] = {}
    for row, text_id in enumerate(ids):
        if hash(text_id) != wanted:
            continue
        if text_id in seen:
            return (
                f"{path}, row {row + 1} of the texts: duplicate id {text_id!r} (first at row "
                f"{seen[text_id] + 1}); corpus ids must be unique"
            )
        seen[text_id] = row
    return None


def _column_index(path: Path, header: list[str], column: str) -> int:
    if column not in header:
        raise LabelDistillError(f"{path}: no column {column!r} (columns present: {header})")
    return header.index(column)


def scan_csv(path: Path, chunk_size: int, columns: tuple[str, str] | None = None) -> tuple[int, list[int]]:
    """Records after the header, and the byte offset of every `chunk_size`-th record; with
    `columns` (id, text) the rows are checked on the way (`RowCheck`)."""
    check = None
    if columns is not None:
        header = header_columns(path)
        check = RowCheck(path, *(_column_index(path, header, column) for column in columns))
    rows, offsets = 0, []
    with open(path, "rb") as handle:
        for start, fields in _records(handle):
            if rows % chunk_size == 0:
                offsets.append(start)
            if check is not None:
                check.add(rows, fields)
            rows += 1
    repeated = check.repeated_hash() if check is not None else None
    if repeated is not None:
        with open(path, "rb") as handle:
            ids = (fields[check.id_index] for _, fields in _records(handle))
            raise LabelDistillError(_repeated_id_problem(path, ids, repeated) or f"{path}: repeated ids")
    return rows, offsets


def check_parquet_rows(path: Path, columns: tuple[str, str]) -> None:
    """`RowCheck` on a parquet corpus, reading its id and text columns only."""
    table = pq.read_table(path, columns=list(columns))
    check = RowCheck(path, 0, 1)
    for row, fields in enumerate(zip(*(table.column(c).to_pylist() for c in columns), strict=True)):
        if isinstance(fields[1], bytes | bytearray):
            raise LabelDistillError(bytes_column_line(path, columns[1]))
        check.add(row, fields)
    repeated = check.repeated_hash()
    if repeated is not None:
        ids = (str(value) for value in table.column(columns[0]).to_pylist())
        raise LabelDistillError(_repeated_id_problem(path, ids, repeated) or f"{path}: repeated ids")


def count_rows(
    path: Path,
    chunk_size: int,
    cache: Path | None = ROW_COUNT_CACHE,
    columns: tuple[str, str] | None = None,
) -> tuple[int, list[int] | None]:
    """The number of rows of a corpus file and (CSV) the byte offset of every chunk.

    Parquet: from the file's metadata, no offsets. CSV: one pass over the file. With `columns`
    (id, text) every row is checked too (`RowCheck`, a parquet file's two columns read). The
    result is cached in `cache` (a small JSON file) by the file's resolved path, size,
    modification time, the chunk size and the columns, so that the next parse of the workflow
    costs one `stat`.
    """
    path = Path(path)
    if not path.is_file():
        raise LabelDistillError(f"{path}: file not found")
    if is_parquet(path) and columns is None:
        return pq.ParquetFile(path).metadata.num_rows, None
    stat = path.stat()
    key = str(path.resolve())
    stamp = {
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "chunk_size": int(chunk_size),
        "checked": list(columns) if columns else None,
    }
    entries = _read_cache(cache)
    entry = entries.get(key)
    if entry and all(entry.get(k) == v for k, v in stamp.items()):
        offsets = entry["offsets"]
        return int(entry["rows"]), None if offsets is None else [int(o) for o in offsets]
    if is_parquet(path):
        check_parquet_rows(path, columns)
        rows, offsets = pq.ParquetFile(path).metadata.num_rows, None
    else:
        try:
            rows, offsets = scan_csv(path, chunk_size, columns)
        except UnicodeDecodeError as error:
            raise LabelDistillError(_not_utf8(path, error)) from None
    if cache is not None:
        entries[key] = {**stamp, "rows": rows, "offsets": offsets}
        _write_cache(cache, entries)
    return rows, offsets


def _not_utf8(path: Path, error: UnicodeDecodeError) -> str:
    """The line of the first byte that is not UTF-8 (the chunk jobs read UTF-8 only)."""
    with open(path, "rb") as handle:
        line = 1
        for raw in handle:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as bad:
                return (
                    f"{path}, line {line}: not UTF-8 (byte 0x{raw[bad.start : bad.start + 1].hex()}); "
                    "a corpus is read as UTF-8: save it as UTF-8 (e.g. iconv -f cp1252 -t utf-8) "
                    "or as parquet"
                )
            line += 1
    return f"{path}: not UTF-8 ({error.reason}); save it as UTF-8 or as parquet"


def _read_cache(cache: Path | None) -> dict:
    if cache is None or not Path(cache).is_file():
        return {}
    try:
        entries = json.loads(Path(cache).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}  # a damaged cache is only a slower start
    return entries if isinstance(entries, dict) else {}


def _write_cache(cache: Path, entries: dict) -> None:
    cache = Path(cache)
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_name(f".{cache.name}.partial-{os.getpid()}")
    partial.write_text(json.dumps(entries), encoding="utf-8")
    os.replace(partial, cache)  # atomic: concurrent parses (cluster jobs) never see half a file


def plan_chunks(n_rows: int, chunk_size: int, offsets: Sequence[int] | None = None) -> list[Chunk]:
    """Chunks of `chunk_size` rows (the last one shorter), with their byte offsets if known."""
    if chunk_size < 1:
        raise LabelDistillError(f"config key corpus.chunk_size: {chunk_size} is not an integer >= 1")
    starts = range(0, n_rows, chunk_size)
    if offsets is not None and len(offsets) != len(starts):
        raise ValueError(f"{len(offsets)} offsets for {len(starts)} chunks")
    return [
        Chunk(i, start, min(start + chunk_size, n_rows), None if offsets is None else int(offsets[i]))
        for i, start in enumerate(starts)
    ]


PARSE_CHECK_MB = 256  # the schema's default of corpus.parse_check_mb


def checked_by_job(spec: CorpusSpec, parse_check_mb: float = PARSE_CHECK_MB) -> bool:
    """Whether a corpus file is too large to have its rows checked when the workflow is parsed
    (above `parse_check_mb` MiB): then the job `corpus_check` checks them, before any chunk."""
    return spec.path.stat().st_size > parse_check_mb * 2**20


def corpus_chunks(
    spec: CorpusSpec,
    chunk_size: int,
    parse_check_mb: float = PARSE_CHECK_MB,
    cache: Path | None = ROW_COUNT_CACHE,
) -> list[Chunk]:
    """The chunks of a task's corpus (at least one row, else a one-line error). A file up to
    `parse_check_mb` MiB has its rows checked in the same pass (a bad row is a one-line error at
    parse); a larger one is only counted (a parquet file from its metadata)."""
    header_columns(spec.path)  # the file's kind, compression and header, before any row
    columns = None if checked_by_job(spec, parse_check_mb) else (spec.id_column, spec.text_column)
    rows, offsets = count_rows(spec.path, chunk_size, cache, columns)
    if rows == 0:
        raise LabelDistillError(
            f"config key tasks.{spec.task}.{spec.block}.texts: {spec.path} holds no texts"
        )
    return plan_chunks(rows, chunk_size, offsets)


def check_rows(spec: CorpusSpec) -> int:
    """Every row of a corpus file checked (`RowCheck`: ids, texts, encoding); its row count."""
    header_columns(spec.path)
    # One chunk as large as any file: the pass keeps no offsets, only the rows' check and count.
    rows, _ = count_rows(spec.path, 2**62, cache=None, columns=(spec.id_column, spec.text_column))
    return rows


# ---- reading one chunk ---------------------------------------------------------------------


def read_chunk(spec: CorpusSpec, chunk: Chunk) -> pd.DataFrame:
    """Columns id, text (strings) and the covariates (strings, None where missing) of the
    chunk's rows, reading only those rows."""
    if is_parquet(spec.path):
        raw = _read_parquet_rows(spec.path, spec.columns, chunk.start, chunk.stop)
    else:
        raw = _read_csv_rows(spec.path, spec.columns, chunk)
    if len(raw) != chunk.size:
        raise LabelDistillError(
            f"{spec.path}: expected {chunk.size} rows from row {chunk.start}, found {len(raw)}: the file "
            "changed after the workflow was planned (run snakemake again)"
        )
    frame = pd.DataFrame(
        {"id": as_strings(raw[spec.id_column]), "text": as_strings(raw[spec.text_column]).fillna("")}
    )
    for column in spec.covariates:
        frame[column] = as_strings(raw[column])
    missing = frame["id"].isna() | (frame["id"] == "")
    if missing.any():
        row = chunk.start + int(np.argmax(missing.to_numpy()))
        raise LabelDistillError(f"{spec.path}, row {row + 1} of the texts: empty id ({spec.id_column})")
    return frame


def as_strings(values: pd.Series) -> pd.Series:
    """Strings, None where missing or empty (numbers as written: 2019, not 2019.0)."""

    def text(value):
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        value = str(value)
        return value if value != "" else None

    return pd.Series([text(v) for v in values], index=values.index, dtype=object)


def _read_csv_rows(path: Path, columns: list[str], chunk: Chunk) -> pd.DataFrame:
    header = header_columns(path)
    with open(path, "rb") as handle:
        handle.seek(chunk.offset or 0)
        if chunk.offset is None:  # no offset known: skip the header and the rows before
            return pd.read_csv(
                io.TextIOWrapper(handle, encoding="utf-8-sig", newline=""),
                dtype=str,
                keep_default_na=False,
                usecols=columns,
                skiprows=range(1, chunk.start + 1),
                nrows=chunk.size,
            )
        return pd.read_csv(
            handle,
            header=None,
            names=header,
            dtype=str,
            keep_default_na=False,
            usecols=columns,
            nrows=chunk.size,
            encoding="utf-8",
        )


def _read_parquet_rows(path: Path, columns: list[str], start: int, stop: int) -> pd.DataFrame:
    """Rows [start, stop) from the row groups that hold them."""
    file = pq.ParquetFile(path)
    groups, first, position = [], None, 0
    for group in range(file.metadata.num_row_groups):
        size = file.metadata.row_group(group).num_rows
        if position + size > start and position < stop:
            groups.append(group)
            first = position if first is None else first
        position += size
    if not groups:
        return pd.DataFrame({column: [] for column in columns})
    table = file.read_row_groups(groups, columns=columns)
    return table.slice(start - first, stop - start).to_pandas()


# ---- labeling ------------------------------------------------------------------------------


def average_probabilities(
    students: Sequence, texts: Sequence[str], batch: int = 1024, progress=None
) -> np.ndarray:
    """The students' (one per seed) probabilities, averaged, in the order of `texts`.

    Texts are sorted by length and given to each student in slices of `batch`, so that a
    transformer pads little (it buckets by length inside a slice too) and `progress` (a
    callable taking the number of texts just done) can show how far the job is.
    """
    labels = list(students[0].labels)
    for student in students[1:]:
        if list(student.labels) != labels:
            raise LabelDistillError(
                f"the seeds' students have different label orders: {labels}, {student.labels}"
            )
    order = np.argsort([len(text) for text in texts], kind="stable")
    out = np.zeros((len(texts), len(labels)), dtype=np.float64)
    for start in range(0, len(texts), batch):
        rows = order[start : start + batch]
        part = [texts[i] for i in rows]
        out[rows] = sum(student.predict_proba(part) for student in students) / len(students)
        if progress is not None:
            progress(len(rows))
    return out


def chunk_frame(
    texts: pd.DataFrame, probabilities: np.ndarray, labels: Sequence[str], covariates: Sequence[str]
) -> pd.DataFrame:
    """The CORPUS_LABELS rows of a chunk: id, label (argmax), probabilities, n_chars, covariates."""
    labels = list(labels)
    frame = pd.DataFrame(
        {
            "id": texts["id"].to_numpy(),
            "label": [labels[i] for i in probabilities.argmax(axis=1)] if len(probabilities) else [],
            "probabilities": [row.tolist() for row in probabilities],
            "n_chars": texts["text"].str.len().to_numpy(dtype=np.int64),
        }
    )
    for column in covariates:
        frame[column] = texts[column].to_numpy()
    return frame


def merge_chunks(frames: Sequence[pd.DataFrame], where: str = "corpus") -> pd.DataFrame:
    """The chunks in order as one table; an id found twice stops with one line."""
    if not frames:
        raise LabelDistillError(f"{where}: no chunks to merge")
    merged = pd.concat(frames, ignore_index=True)
    duplicated = merged["id"].duplicated()
    if duplicated.any():
        row = int(np.argmax(duplicated.to_numpy()))
        raise LabelDistillError(f"{where}, row {row + 1} of the texts: duplicate id {merged['id'][row]!r}")
    return merged
