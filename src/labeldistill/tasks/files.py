"""Reading the tables a user brings (CSV, TSV or parquet) with one-line errors that say the fix.

The files social scientists have are often not UTF-8, not comma-separated, or hold a text with
a newline inside quotes; pandas then raises errors that name neither the file nor the line.
`read_user_table` names both, and what to set: the encoding it detects, the separator it sees.
`record_line` gives the line of a CSV record as an editor shows it (a quoted newline makes the
record number and the line differ).
"""

from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from labeldistill.errors import LabelDistillError

PARQUET_SUFFIXES = (".parquet", ".pq")
SEPARATORS = (",", ";", "\t", "|")
_SEPARATOR_NAMES = {",": "','", ";": "';'", "\t": "'\\t' (tab)", "|": "'|'"}


def is_parquet(path: Path) -> bool:
    return Path(path).suffix.lower() in PARQUET_SUFFIXES


def check_file(path: Path, config_key: str) -> Path:
    """The path, if it names a non-empty file; else one line saying what it is."""
    path = Path(path)
    if not path.exists():
        raise LabelDistillError(f"config key {config_key}: file {path} not found")
    if path.is_dir():
        raise LabelDistillError(f"config key {config_key}: {path} is a folder, not a file")
    if path.stat().st_size == 0:
        raise LabelDistillError(f"{path}: the file is empty (0 bytes; config key {config_key})")
    return path


def _decode_problem(path: Path, encoding: str, config_key: str) -> str:
    """Where the bytes stop being `encoding` (decoded whole again: pandas reports a position in
    its own chunk), and the encoding they look like."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    try:
        raw.decode(encoding)
        return f"{path}: not {encoding} text"
    except UnicodeDecodeError as error:
        offset = error.start
    line = raw[:offset].count(b"\n") + 1
    guess = _guess_encoding(raw)
    fix = f"set {config_key.rsplit('.', 1)[0]}.encoding: {guess}" if guess else "save it as UTF-8"
    return f"{path}, line {line}: not {encoding} (byte 0x{raw[offset : offset + 1].hex()}); {fix}"


def _guess_encoding(raw: bytes) -> str | None:
    """cp1252 when the bytes are valid in it (Excel's CSV export on Windows, the usual case),
    else what charset-normalizer finds."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        raw.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:1_000_000]).best()
    return best.encoding if best is not None else None


def _open_text(path: Path, encoding: str):
    """A text handle that shows bad bytes as replacement characters (for reporting only)."""
    opener = gzip.open if Path(path).suffix == ".gz" else open
    return opener(path, "rt", encoding=encoding, errors="replace", newline="")


def _header(path: Path, encoding: str) -> str:
    with _open_text(path, encoding) as handle:
        return handle.readline()


def _separator_hint(header: str, sep: str, wanted: Sequence[str], key: str) -> str:
    """'; the header looks ;-separated: set <task>.sep: ";"' when another separator finds them."""
    for other in SEPARATORS:
        if other != sep and all(
            column in [c.strip() for c in header.rstrip("\r\n").split(other)] for column in wanted
        ):
            return f"; the header is separated by {_SEPARATOR_NAMES[other]}: set {key}.sep: {other!r}"
    return ""


def read_user_table(
    path: Path,
    columns: Sequence[str],
    config_key: str,
    encoding: str = "utf-8",
    sep: str = ",",
) -> pd.DataFrame:
    """A CSV (or .csv.gz, .tsv) or parquet file with at least `columns`, read as strings.

    Every problem is one LabelDistillError line naming the file and, where it has one, the
    line; `config_key` (e.g. tasks.t.texts) is the key that named the file, and its parent is
    where `encoding` and `sep` are set. Null cells stay null (pandas NA), never "nan".
    """
    path = check_file(path, config_key)
    parent = config_key.rsplit(".", 1)[0]
    kind_problem = content_kind_problem(path)
    if kind_problem:
        raise LabelDistillError(f"{kind_problem} (config key {config_key})")
    if is_parquet(path):
        try:
            frame = pd.read_parquet(path)
        except Exception as error:  # pyarrow raises several types for a file that is not parquet
            raise LabelDistillError(f"{path}: not a readable parquet file ({_first_line(error)})") from None
        _require_columns(path, frame.columns, columns, parent, header=None, sep=sep)
        _refuse_bytes(path, frame, columns)
        return frame.astype({column: "string" for column in frame.columns})
    if path.suffix.lower() == ".tsv" and sep == ",":
        sep = "\t"
    if _starts_with_bom(path):
        encoding = "utf-8-sig"  # a UTF-8 file whatever the setting says; the mark is no part of a name
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], sep=sep, encoding=encoding)
    except UnicodeDecodeError:
        raise LabelDistillError(_decode_problem(path, encoding, config_key)) from None
    except pd.errors.EmptyDataError:
        raise LabelDistillError(f"{path}: no header line (config key {config_key})") from None
    except pd.errors.ParserError as error:
        raise LabelDistillError(_parser_problem(path, error, sep, encoding, columns, parent)) from None
    except LookupError as error:
        raise LabelDistillError(f"config key {parent}.encoding: {error}") from None
    _require_columns(path, frame.columns, columns, parent, header=_header(path, encoding), sep=sep)
    if frame.empty:
        raise LabelDistillError(f"{path}: a header but no rows (config key {config_key})")
    return frame


GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
PARQUET_MAGIC = b"PAR1"
UTF8_BOM = b"\xef\xbb\xbf"


def _first_bytes(path: Path, size: int = 4096) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


def _starts_with_bom(path: Path) -> bool:
    head = _first_bytes(path, 3)
    if Path(path).suffix == ".gz" and head.startswith(GZIP_MAGIC):
        with gzip.open(path, "rb") as handle:
            head = handle.read(3)
    return head == UTF8_BOM


def content_kind_problem(path: Path) -> str | None:
    """What the file is when its bytes say it is not what its name says (an Excel workbook named
    .csv, gzip bytes without .gz, JSON lines), with the fix; None when they agree."""
    path, head = Path(path), _first_bytes(path)
    suffix = path.suffix.lower()
    if head.startswith(ZIP_MAGIC):
        return (
            f"{path}: an Excel workbook (.xlsx) or another zip archive, not a table of text; save it "
            "as CSV UTF-8 (Excel: File > Save As > CSV UTF-8) or as parquet"
        )
    if head.startswith(PARQUET_MAGIC) and not is_parquet(path):
        return f"{path}: a parquet file by its content; name it {path.stem}.parquet"
    if is_parquet(path) and not head.startswith(PARQUET_MAGIC):
        return f"{path}: named .parquet but not a parquet file; save it with DataFrame.to_parquet"
    if head.startswith(GZIP_MAGIC) and suffix != ".gz":
        return f"{path}: gzip-compressed; name it {path.name}.gz (or decompress it)"
    if head.removeprefix(UTF8_BOM).lstrip().startswith((b"{", b"[")):
        return (
            f"{path}: JSON, not CSV or parquet; convert it once, e.g. "
            f"pandas.read_json('{path.name}', lines=True).to_parquet('{path.stem}.parquet')"
        )
    if suffix in (".xlsx", ".xls", ".ods", ".json", ".jsonl", ".ndjson"):
        return f"{path}: a {suffix} file is not read; save it as CSV UTF-8 or as parquet"
    return None


def bytes_column_line(path: Path, column: str) -> str:
    """A binary parquet column would become "b'...'" strings: the line refusing it, with the fix."""
    return (
        f"{path}: column {column!r} holds bytes, not text; store it as a string column "
        f"(pandas: frame[{column!r}] = frame[{column!r}].str.decode('utf-8'))"
    )


def _refuse_bytes(path: Path, frame: pd.DataFrame, columns: Sequence[str]) -> None:
    for column in columns:
        values = frame[column].dropna()
        if len(values) and isinstance(values.iloc[0], bytes | bytearray):
            raise LabelDistillError(bytes_column_line(path, column))


def _require_columns(path, present, wanted, parent, header: str | None, sep: str) -> None:
    missing = [column for column in wanted if column not in present]
    if not missing:
        return
    hint = _separator_hint(header, sep, wanted, parent) if header is not None else ""
    if not hint:
        hint = f"; set {parent}.*_column to name yours"
    raise LabelDistillError(
        f"{path}: missing column(s) {missing} (columns present: {_short(list(present))}){hint}"
    )


def _parser_problem(path: Path, error: Exception, sep: str, encoding: str, columns, parent: str) -> str:
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
    if found:
        expected, record, seen = (int(value) for value in found.groups())
        hint = _separator_hint(_header(path, encoding), sep, columns, parent)
        if not hint:
            hint = f"; a text holding {_SEPARATOR_NAMES.get(sep, repr(sep))} must be in double quotes"
        line = record_line(path, record - 2, encoding, sep) if record >= 2 else record
        return f"{path}, line {line}: {seen} fields where the header has {expected}{hint}"
    return f"{path}: not a readable CSV ({_first_line(error)})"


def record_line(path: Path, record: int, encoding: str = "utf-8", sep: str = ",") -> int:
    """The line (1-based, header = line 1) on which data record `record` (0-based) starts.

    Counted with the csv module, which follows quoted newlines as pandas does; read only when an
    error is reported, so its cost is paid once."""
    with _open_text(path, encoding) as handle:
        reader = csv.reader(handle, delimiter=sep)
        next(reader, None)
        line = reader.line_num
        for index, _ in enumerate(reader):
            if index == record:
                return line + 1
            line = reader.line_num
    return line + 1


def row_reference(path: Path, row: int, encoding: str = "utf-8", sep: str = ",") -> str:
    """'line N' of a CSV (as an editor counts), 'row N' (1-based) of a parquet file."""
    if is_parquet(path):
        return f"row {row + 1}"
    return f"line {record_line(path, row, encoding, sep)}"


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


def _short(values: list, limit: int = 8) -> str:
    shown = ", ".join(map(str, values[:limit]))
    return f"[{shown}{', ...' if len(values) > limit else ''}]"


__all__ = [
    "bytes_column_line",
    "check_file",
    "content_kind_problem",
    "is_parquet",
    "read_user_table",
    "record_line",
    "row_reference",
]
