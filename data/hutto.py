"""Demo tasks from the human ratings of Hutto & Gilbert (ICWSM 2014), shipped with vaderSentiment.

The source distribution of ``vaderSentiment==3.3.2`` carries
``additional_resources/hutto_ICWSM_2014.tar.gz``. For each corpus it holds two tab-separated
files (CRLF line ends):

- ``<corpus>_GroundTruth.txt``: id, mean rating, text;
- ``<corpus>_anonDataRatings.txt``: id, mean rating, standard deviation, and a Python list of
  every individual rating on the scale -4..4.

Each corpus becomes a binary task with the labels ``negative`` and ``other``:

- gold label: ``negative`` if the GroundTruth mean rating is below -0.5, else ``other``
  (-0.5 itself is ``other``);
- coder label: ``negative`` if that rater's rating is below -0.5 (ratings are whole numbers,
  so: -1 or lower), else ``other``; the coder is named after the rating's position in the
  list (``r01``, ``r02``, ...). The ratings are anonymised: a position is not the same person
  from one text to the next.

The tweets also become a three-category task (``SENTIMENT_TASKS``, scheme ``sentiment3``) with
the labels ``negative``, ``neutral`` and ``positive``: below -0.5, from -0.5 to 0.5, above 0.5
(a rater: -1 or lower, 0, 1 or higher), the same thresholds on the other side.

Texts are decoded as UTF-8 (cp1252, then latin-1 as fallbacks, counted), the HTML entities
``&amp; &lt; &gt; &quot; &apos; &#NN;`` are unescaped, whitespace runs (CR/LF included) become
one space, and a text that repeats an earlier text of the same corpus is dropped (so that no
text can fall in both the training and the test part). Everything here is a pure function of
bytes except :func:`read_archive` and :func:`write_task`.
"""

from __future__ import annotations

import ast
import csv
import gzip
import hashlib
import io
import re
import statistics
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from labeldistill.errors import LabelDistillError

SDIST_NAME = "vaderSentiment-3.3.2.tar.gz"
SDIST_REQUIREMENT = "vaderSentiment==3.3.2"
# Observed on PyPI's vaderSentiment-3.3.2.tar.gz and on the archive inside it.
SDIST_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
INNER_ARCHIVE = "hutto_ICWSM_2014.tar.gz"
INNER_SHA256 = "d5bb07d87474b3eb8d30b4deccbc23f19d742a6c5718fbacc65485b70b95c5fa"
KNOWN_SHA256 = {SDIST_SHA256: SDIST_NAME, INNER_SHA256: INNER_ARCHIVE}
LICENSE_MEMBER = "LICENSE.txt"
LICENSE_COPY = "LICENSE-vaderSentiment.txt"

LABELS = ("negative", "other")
POSITIVE_LABEL = "negative"
NEGATIVE_BELOW = -0.5
POSITIVE_ABOVE = 0.5
RATING_RANGE = (-4, 4)
SENTIMENT_LABELS = ("negative", "neutral", "positive")
SCHEMES = ("negative", "sentiment3")

# task name -> corpus file prefix in the archive (amazonReviewSnippets is left out: the ids of
# its two files do not match).
TASK_CORPORA = {
    "tweets_negative": "tweets",
    "nyt_negative": "nytEditorialSnippets",
    "movies_negative": "movieReviewSnippets",
}
# Three-category tasks (scheme sentiment3): negative, neutral, positive.
SENTIMENT_TASKS = {"tweets_sentiment": "tweets"}
ALL_TASKS = {**TASK_CORPORA, **SENTIMENT_TASKS}


def task_scheme(task: str) -> str:
    """The label scheme of a task: `sentiment3` for the three-category tasks, else `negative`."""
    return "sentiment3" if task in SENTIMENT_TASKS else "negative"


TEXTS_FILE = "texts.csv"
UNCODED_FILE = "uncoded.csv"  # the same texts without their ratings: the uncoded demo
CODER_LABELS_FILE = "coder_labels.csv.gz"

_ENTITY = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_RECORD_START = re.compile(rb"^(\S+)\t(-?[0-9]+(?:\.[0-9]+)?(?:[eE]-?[0-9]+)?)\t")


# ---------------------------------------------------------------------------------------------
# Reading the archive


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_archive(path: Path) -> str:
    """The archive's sha256 if it is the known sdist or inner archive; else a LabelDistillError."""
    digest = sha256_of(path)
    if digest not in KNOWN_SHA256:
        raise LabelDistillError(
            f"{path}: sha256 {digest} is neither that of {SDIST_NAME} ({SDIST_SHA256}) nor that "
            f"of its {INNER_ARCHIVE} ({INNER_SHA256}); pass the right file or skip the check"
        )
    return digest


def _regular_files(archive: tarfile.TarFile) -> dict[str, bytes]:
    files = {}
    for member in archive.getmembers():
        if member.isfile():
            files[member.name] = archive.extractfile(member).read()
    return files


def read_archive(path: Path) -> dict[str, bytes]:
    """The data files by base name, read in memory from the sdist or from the inner archive.

    Given the sdist, the inner ``hutto_ICWSM_2014.tar.gz`` is opened from memory and the
    sdist's ``LICENSE.txt`` is added under that name.
    """
    path = Path(path)
    try:
        with tarfile.open(path, mode="r:*") as outer:
            members = _regular_files(outer)
    except (OSError, tarfile.TarError) as error:
        raise LabelDistillError(f"{path}: not a readable tar archive ({error})") from error
    inner = [name for name in members if PurePosixPath(name).name == INNER_ARCHIVE]
    files: dict[str, bytes] = {}
    if inner:
        with tarfile.open(fileobj=io.BytesIO(members[inner[0]]), mode="r:*") as nested:
            files.update({PurePosixPath(n).name: data for n, data in _regular_files(nested).items()})
        licence = [n for n in members if PurePosixPath(n).name == LICENSE_MEMBER]
        if licence:
            files[LICENSE_MEMBER] = members[min(licence, key=len)]
    else:
        files.update({PurePosixPath(n).name: data for n, data in members.items()})
    return files


# ---------------------------------------------------------------------------------------------
# Texts


def decode_text(raw: bytes) -> tuple[str, bool]:
    """Text from bytes: UTF-8, else cp1252, else latin-1; the flag says a fallback was used."""
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), True
    except UnicodeDecodeError:
        return raw.decode("latin-1"), True


def unescape_entities(text: str) -> str:
    """Unescape the few HTML entities the corpora use (and numeric ones), nothing else.

    ``html.unescape`` would also turn ``&not`` in ``&nothing`` into a sign; this does not.
    """

    def replace(match: re.Match) -> str:
        named, decimal, hexadecimal = match.groups()
        if named:
            return _NAMED[named]
        code = int(decimal) if decimal else int(hexadecimal, 16)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return match.group(0)
        return chr(code)

    return _ENTITY.sub(replace, text)


def clean_text(text: str) -> str:
    """Entities unescaped, every whitespace run (CR and LF included) one space, ends stripped."""
    return " ".join(unescape_entities(text).split())


# ---------------------------------------------------------------------------------------------
# Parsing the two files of a corpus


@dataclass(frozen=True)
class Record:
    id: str
    mean_rating: str  # as written in the file, so that the output keeps every digit
    text: str


@dataclass
class ParseReport:
    fallback_decoded: int = 0
    entities_unescaped: int = 0
    continuation_lines: int = 0


def _lines(raw: bytes) -> list[bytes]:
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")


def parse_ground_truth(raw: bytes, source: str) -> tuple[list[Record], ParseReport]:
    """Records of a ``*_GroundTruth.txt`` file (id, mean rating, text), texts cleaned.

    A line that does not start with ``id<TAB>number<TAB>`` continues the previous text (a line
    break inside a text).
    """
    pieces: list[tuple[bytes, bytes, list[bytes]]] = []
    report = ParseReport()
    for number, line in enumerate(_lines(raw), start=1):
        match = _RECORD_START.match(line)
        if match:
            pieces.append((match.group(1), match.group(2), [line[match.end() :]]))
        elif not line.strip():
            continue
        elif pieces:
            pieces[-1][2].append(line)
            report.continuation_lines += 1
        else:
            raise LabelDistillError(
                f"{source}, line {number}: expected 'id<TAB>mean rating<TAB>text', got {line[:60]!r}"
            )
    records = []
    for raw_id, raw_mean, text_lines in pieces:
        text, fell_back = decode_text(b"\n".join(text_lines))
        report.fallback_decoded += fell_back
        cleaned = clean_text(text)
        report.entities_unescaped += cleaned != " ".join(text.split())
        records.append(Record(raw_id.decode("ascii"), raw_mean.decode("ascii"), cleaned))
    return records, report


def parse_ratings(raw: bytes, source: str) -> dict[str, list[int]]:
    """Every individual rating per id, from a ``*_anonDataRatings.txt`` file."""
    ratings: dict[str, list[int]] = {}
    for number, line in enumerate(_lines(raw), start=1):
        if not line.strip():
            continue
        fields = line.decode("ascii", errors="replace").split("\t")
        if len(fields) != 4:
            raise LabelDistillError(
                f"{source}, line {number}: expected 4 tab-separated fields "
                f"(id, mean, sd, [ratings]), got {len(fields)}"
            )
        try:
            values = ast.literal_eval(fields[3].strip())
        except (ValueError, SyntaxError) as error:
            raise LabelDistillError(
                f"{source}, line {number}: the ratings are not a list of numbers ({error})"
            ) from error
        low, high = RATING_RANGE
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, int) and low <= v <= high for v in values)
        ):
            raise LabelDistillError(
                f"{source}, line {number}: the ratings must be a non-empty list of whole "
                f"numbers from {low} to {high}"
            )
        if fields[0] in ratings:
            raise LabelDistillError(f"{source}, line {number}: duplicate id {fields[0]!r}")
        ratings[fields[0]] = values
    return ratings


# ---------------------------------------------------------------------------------------------
# The label rule


def gold_label(mean_rating: float, scheme: str = "negative") -> str:
    """``negative`` if the mean rating is below -0.5 (strictly), else ``other``; in the
    ``sentiment3`` scheme ``positive`` above 0.5 (strictly) and ``neutral`` between."""
    return _label(float(mean_rating), scheme)


def coder_label(rating: int, scheme: str = "negative") -> str:
    """``negative`` if one rater's rating is below -0.5, i.e. -1 or lower, else ``other``; in the
    ``sentiment3`` scheme ``positive`` for 1 or higher and ``neutral`` for 0."""
    return _label(rating, scheme)


def _label(value: float, scheme: str) -> str:
    if scheme not in SCHEMES:
        raise LabelDistillError(f"unknown label scheme {scheme!r} (known: {', '.join(SCHEMES)})")
    if value < NEGATIVE_BELOW:
        return POSITIVE_LABEL
    if scheme == "negative":
        return "other"
    return "positive" if value > POSITIVE_ABOVE else "neutral"


def coder_name(position: int) -> str:
    """The coder id of the rating at 0-based ``position`` in the list: r01, r02, ..."""
    return f"r{position + 1:02d}"


# ---------------------------------------------------------------------------------------------
# One task


@dataclass
class TaskData:
    name: str
    corpus: str
    texts: list[dict[str, str]]  # id, text, label, mean_rating
    coder_labels: list[tuple[str, str, str]]  # id, coder, label
    stats: dict = field(default_factory=dict)


def build_task(name: str, corpus: str, files: dict[str, bytes], scheme: str | None = None) -> TaskData:
    """Texts with gold labels and coders' labels for one corpus of the archive, in the task's
    label scheme (`task_scheme` of its name unless given)."""
    scheme = scheme or task_scheme(name)
    truth_name = f"{corpus}_GroundTruth.txt"
    ratings_name = f"{corpus}_anonDataRatings.txt"
    for wanted in (truth_name, ratings_name):
        if wanted not in files:
            raise LabelDistillError(f"the archive has no {wanted} (files present: {sorted(files)})")
    records, report = parse_ground_truth(files[truth_name], truth_name)
    ratings = parse_ratings(files[ratings_name], ratings_name)

    seen_ids: set[str] = set()
    seen_texts: set[str] = set()
    texts, coders = [], []
    duplicates = mean_mismatch = 0
    coders_per_text = []
    for record in records:
        if record.id in seen_ids:
            raise LabelDistillError(f"{truth_name}: duplicate id {record.id!r}")
        seen_ids.add(record.id)
        if not record.text:
            raise LabelDistillError(f"{truth_name}: id {record.id!r} has an empty text")
        if record.id not in ratings:
            raise LabelDistillError(f"{ratings_name}: no ratings for id {record.id!r} of {truth_name}")
        if record.text in seen_texts:
            duplicates += 1
            continue
        seen_texts.add(record.text)
        values = ratings[record.id]
        mean = float(record.mean_rating)
        mean_mismatch += abs(statistics.fmean(values) - mean) > 0.01
        texts.append(
            {
                "id": record.id,
                "text": record.text,
                "label": gold_label(mean, scheme),
                "mean_rating": record.mean_rating,
            }
        )
        coders.extend(
            (record.id, coder_name(i), coder_label(value, scheme)) for i, value in enumerate(values)
        )
        coders_per_text.append(len(values))

    n_negative = sum(row["label"] == POSITIVE_LABEL for row in texts)
    stats = {
        "task": name,
        "corpus": corpus,
        "n_source": len(records),
        "n_texts": len(texts),
        "n_negative": n_negative,
        "share_negative": round(n_negative / len(texts), 4) if texts else 0.0,
        "n_coder_labels": len(coders),
        "coders_per_text_min": min(coders_per_text, default=0),
        "coders_per_text_median": float(statistics.median(coders_per_text)) if texts else 0.0,
        "coders_per_text_max": max(coders_per_text, default=0),
        "duplicate_texts_dropped": duplicates,
        "label_counts": {
            label: sum(row["label"] == label for row in texts)
            for label in (SENTIMENT_LABELS if scheme == "sentiment3" else LABELS)
        },
        "fallback_decoded": report.fallback_decoded,
        "entities_unescaped": report.entities_unescaped,
        "continuation_lines": report.continuation_lines,
        "mean_differs_from_ratings": mean_mismatch,
        "ratings_without_text": len(set(ratings) - seen_ids),
    }
    return TaskData(name, corpus, texts, coders, stats)


# ---------------------------------------------------------------------------------------------
# Writing (byte for byte the same on every run)


def texts_csv_bytes(texts: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["id", "text", "label", "mean_rating"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(texts)
    return buffer.getvalue().encode("utf-8")


def uncoded_csv_bytes(texts: list[dict[str, str]]) -> bytes:
    """`id,text` only: the demo's uncoded texts, with no rating in the file (the workflow drops the
    texts its split coded, as it drops any twin of a coded text)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["id", "text"], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(texts)
    return buffer.getvalue().encode("utf-8")


def coder_labels_csv_gz_bytes(rows: list[tuple[str, str, str]]) -> bytes:
    """The long-form coder labels as a gzip file with no time stamp and no file name inside."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "coder", "label"])
    writer.writerows(rows)
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(buffer.getvalue().encode("utf-8"))
    return out.getvalue()


def _write_if_changed(path: Path, data: bytes) -> None:
    if path.exists() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_task(task: TaskData, out_dir: Path) -> dict[str, Path]:
    """Write ``<out_dir>/<task>/texts.csv``, ``uncoded.csv`` and ``coder_labels.csv.gz``;
    codebooks stay."""
    folder = Path(out_dir) / task.name
    paths = {
        "texts": folder / TEXTS_FILE,
        "uncoded": folder / UNCODED_FILE,
        "coder_labels": folder / CODER_LABELS_FILE,
    }
    _write_if_changed(paths["texts"], texts_csv_bytes(task.texts))
    _write_if_changed(paths["uncoded"], uncoded_csv_bytes(task.texts))
    _write_if_changed(paths["coder_labels"], coder_labels_csv_gz_bytes(task.coder_labels))
    return paths


def build_all(archive: Path, out_dir: Path, tasks: dict[str, str] | None = None) -> list[dict]:
    """Read the archive once, write every task folder (and the licence), return their stats."""
    files = read_archive(archive)
    # Build every task before writing any, so that a bad archive leaves data/ untouched.
    built = [build_task(name, corpus, files) for name, corpus in (tasks or ALL_TASKS).items()]
    for task in built:
        write_task(task, out_dir)
    if LICENSE_MEMBER in files:
        _write_if_changed(Path(out_dir) / LICENSE_COPY, files[LICENSE_MEMBER])
    return [task.stats for task in built]


def stats_table(all_stats: list[dict]) -> str:
    """The per-task counts as a Markdown table (for data/README.md)."""
    header = (
        "| task | source corpus | texts | negative | share negative | coders per text "
        "(min / median / max) | coder labels |"
    )
    lines = [header, "|---|---|---:|---:|---:|---|---:|"]
    for s in all_stats:
        lines.append(
            f"| `{s['task']}` | {s['corpus']} | {s['n_texts']:,} | {s['n_negative']:,} | "
            f"{s['share_negative']:.1%} | {s['coders_per_text_min']} / "
            f"{s['coders_per_text_median']:g} / {s['coders_per_text_max']} | "
            f"{s['n_coder_labels']:,} |"
        )
    lines += [
        f"\n`{s['task']}` per label: "
        + ", ".join(
            f"{label} {count:,} ({count / s['n_texts']:.1%})" for label, count in s["label_counts"].items()
        )
        for s in all_stats
        if len(s.get("label_counts", {})) > 2
    ]
    return "\n".join(lines)
