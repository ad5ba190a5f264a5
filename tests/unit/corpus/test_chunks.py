"""The corpus: row counting (quoted newlines, the cache), chunk planning, reading a chunk, merging."""

from __future__ import annotations

import csv
import json
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from labeldistill.config.prepare import check_config
from labeldistill.contracts import (
    CORPUS_CHECK,
    CORPUS_LABELS,
    read_record,
    read_table,
    table_labels,
    write_table,
)
from labeldistill.corpus.chunks import (
    Chunk,
    CorpusSpec,
    average_probabilities,
    check_columns,
    checked_by_job,
    chunk_frame,
    corpus_chunks,
    count_rows,
    header_columns,
    merge_chunks,
    plan_chunks,
    read_chunk,
    scan_csv,
)
from labeldistill.errors import LabelDistillError
from labeldistill.stages import corpus_check, corpus_chunk, corpus_merge
from labeldistill.students import load_student, make_student


def _texts(n: int) -> pd.DataFrame:
    """Texts with quoted newlines, commas, doubled quotes, a blank-looking text and a year."""
    rows = []
    for i in range(n):
        text = f"text {i}"
        if i % 3 == 0:
            text += ",\nwith a newline"
        if i % 5 == 0:
            text += ' and "quotes"\r\nand another line'
        rows.append({"id": f"t{i}", "text": text, "year": 2000 + i % 4, "party": "ab"[i % 2]})
    return pd.DataFrame(rows)


def _write_csv(frame: pd.DataFrame, path, bom: bool = False) -> None:
    frame.to_csv(path, index=False, encoding="utf-8-sig" if bom else "utf-8", quoting=csv.QUOTE_MINIMAL)


def test_counting_a_csv_respects_quoted_newlines_and_finds_every_chunk_start(tmp_path):
    frame = _texts(23)
    path = tmp_path / "corpus.csv"
    _write_csv(frame, path)
    assert len(path.read_text().splitlines()) > 24  # quoted newlines make physical lines
    rows, offsets = scan_csv(path, chunk_size=5)
    assert rows == 23 and len(offsets) == 5
    raw = path.read_bytes()
    for k, offset in enumerate(offsets):
        assert raw[offset:].startswith(f"t{5 * k},".encode())


def test_a_byte_order_mark_and_blank_lines_are_skipped_as_pandas_does(tmp_path):
    path = tmp_path / "corpus.csv"
    _write_csv(_texts(7), path, bom=True)
    path.write_bytes(path.read_bytes() + b"\n\n")
    assert header_columns(path) == ["id", "text", "year", "party"]
    rows, offsets = count_rows(path, chunk_size=3, cache=None)
    assert rows == len(pd.read_csv(path)) == 7 and len(offsets) == 3


def test_the_count_is_cached_by_path_size_and_modification_time(tmp_path, monkeypatch):
    path, cache = tmp_path / "corpus.csv", tmp_path / "cache" / "rows.json"
    _write_csv(_texts(10), path)
    assert count_rows(path, 4, cache) == (10, scan_csv(path, 4)[1])
    entry = next(iter(json.loads(cache.read_text()).values()))
    assert entry["rows"] == 10 and entry["size"] == path.stat().st_size

    def no_scan(*args):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr("labeldistill.corpus.chunks.scan_csv", no_scan)
    assert count_rows(path, 4, cache)[0] == 10  # a hit: no pass over the file
    monkeypatch.undo()
    # Another chunk size or a changed file is counted again.
    assert len(count_rows(path, 5, cache)[1]) == 2
    time.sleep(0.01)
    _write_csv(_texts(12), path)
    assert count_rows(path, 5, cache)[0] == 12


def test_a_parquet_corpus_is_counted_from_its_metadata(tmp_path):
    path = tmp_path / "corpus.parquet"
    pq.write_table(pa.Table.from_pandas(_texts(9)), path, row_group_size=4)
    assert count_rows(path, 4, cache=tmp_path / "unused.json") == (9, None)
    assert not (tmp_path / "unused.json").exists()


def test_chunks_cover_every_row_once():
    chunks = plan_chunks(10, 4)
    assert [(c.start, c.stop) for c in chunks] == [(0, 4), (4, 8), (8, 10)]
    assert [c.index for c in chunks] == [0, 1, 2] and chunks[-1].size == 2
    assert plan_chunks(8, 4, offsets=[10, 20])[1].offset == 20
    assert plan_chunks(0, 4) == []
    with pytest.raises(LabelDistillError, match="corpus.chunk_size"):
        plan_chunks(10, 0)


def test_an_empty_corpus_is_refused_with_its_config_key(tmp_path):
    path = tmp_path / "corpus.csv"
    path.write_text("id,text\n")
    with pytest.raises(LabelDistillError, match=r"tasks\.t\.corpus\.texts: .* holds no texts"):
        corpus_chunks(CorpusSpec("t", path), 10, cache=None)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_reading_chunks_gives_back_exactly_the_file(tmp_path, kind):
    frame = _texts(23)
    frame["year"] = frame["year"].astype(object)
    frame.loc[4, "year"] = None  # a missing covariate
    path = tmp_path / f"corpus.{kind}"
    if kind == "csv":
        _write_csv(frame, path)
    else:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=6)
    spec = CorpusSpec("t", path, covariates=("year",))
    chunks = corpus_chunks(spec, 5, cache=tmp_path / "rows.json")
    parts = [read_chunk(spec, chunk) for chunk in chunks]
    together = pd.concat(parts, ignore_index=True)
    assert list(together.columns) == ["id", "text", "year"]
    assert together["id"].tolist() == frame["id"].tolist()
    assert together["text"].tolist() == frame["text"].tolist()
    assert together["year"][4] is None and together["year"][5] == "2001"  # strings, no "2001.0"


def test_a_file_that_changed_after_planning_stops_the_chunk(tmp_path):
    path = tmp_path / "corpus.csv"
    _write_csv(_texts(10), path)
    spec = CorpusSpec("t", path)
    chunk = corpus_chunks(spec, 8, cache=None)[1]
    _write_csv(_texts(9), path)
    with pytest.raises(LabelDistillError, match="changed after the workflow was planned"):
        read_chunk(spec, Chunk(chunk.index, chunk.start, chunk.stop, None))


def test_columns_are_checked_from_the_header(tmp_path):
    path = tmp_path / "corpus.csv"
    _write_csv(_texts(3), path)
    check_columns(path, ["id", "year"], "tasks.t.corpus")
    with pytest.raises(
        LabelDistillError, match=r"config key tasks\.t\.corpus: .* lacks column\(s\) \['body'\]"
    ):
        check_columns(path, ["id", "body"], "tasks.t.corpus")


class _Student:
    labels = ["negative", "other"]

    def __init__(self, shift):
        self.shift = shift
        self.calls = []

    def predict_proba(self, texts):
        self.calls.append(len(texts))
        p = np.clip(np.array([len(t) for t in texts], dtype=float) / 100 + self.shift, 0, 1)
        return np.column_stack([p, 1 - p])


def test_probabilities_are_averaged_over_seeds_in_the_texts_order():
    texts = ["a" * n for n in (30, 5, 60, 10, 45)]
    students = [_Student(0.0), _Student(0.2)]
    done = []
    proba = average_probabilities(students, texts, batch=2, progress=done.append)
    expected = np.array([len(t) / 100 + 0.1 for t in texts])
    assert np.allclose(proba[:, 0], expected) and np.allclose(proba.sum(axis=1), 1)
    assert students[0].calls == [2, 2, 1] and sum(done) == 5


def test_chunks_merge_in_order_and_keep_covariates(tmp_path):
    labels = ["negative", "other"]
    files = []
    for k in range(3):
        texts = pd.DataFrame({"id": [f"{k}a", f"{k}b"], "text": ["x", "yy"], "year": ["2001", None]})
        frame = chunk_frame(texts, np.array([[0.8, 0.2], [0.1, 0.9]]), labels, ["year"])
        files.append(tmp_path / f"{k}.parquet")
        write_table(frame, files[-1], CORPUS_LABELS, labels=labels)
    out = tmp_path / "labels.parquet"
    corpus_merge.run(files, out)
    merged = read_table(out, CORPUS_LABELS)
    assert merged["id"].tolist() == ["0a", "0b", "1a", "1b", "2a", "2b"]
    assert merged["label"].tolist() == ["negative", "other"] * 3
    assert merged["n_chars"].tolist() == [1, 2] * 3
    assert [None if pd.isna(v) else v for v in merged["year"]] == ["2001", None] * 3
    assert table_labels(out) == labels


def test_an_id_in_two_chunks_stops_the_merge():
    frame = pd.DataFrame({"id": ["a", "b"], "label": ["x", "y"]})
    with pytest.raises(LabelDistillError, match="duplicate id 'a'"):
        merge_chunks([frame, frame.iloc[:1]])


def _config(tmp_path, **corpus):
    texts = tmp_path / "texts.csv"
    pd.DataFrame({"id": ["1"], "text": ["t"], "label": ["a"], "year": ["2000"]}).to_csv(texts, index=False)
    _write_csv(_texts(3), tmp_path / "corpus.csv")
    task_corpus = {"texts": str(tmp_path / "corpus.csv"), "covariates": ["year"]}
    return {
        "tasks": {
            "t": {"texts": str(texts), "codebook": str(texts), "labels": ["a", "b"], "corpus": task_corpus}
        },
        "labelers": {"gemma": {"backend": "local", "model": "gemma3-270m"}},
        "students": {"tfidf": {"kind": "tfidf-logreg"}},
        "seeds": [1, 2],
        "corpus": {"student": "tfidf", "labeler": "gemma", **corpus},
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"corpus": {"labeler": "gemma"}}, r"config key corpus\.student: required"),
        (
            {"corpus": {"student": "bert", "labeler": "gemma"}},
            r"config key corpus\.student: 'bert' is not one of",
        ),
        (
            {"corpus": {"student": "tfidf", "labeler": "gpt"}},
            r"config key corpus\.labeler: 'gpt' is not one of",
        ),
        (
            {"corpus": {"student": "tfidf", "labeler": "human", "seeds": [3]}},
            r"corpus\.seeds: seed\(s\) \[3\]",
        ),
        ({"texts": "missing.csv"}, r"config key tasks\.t\.corpus\.texts: file missing\.csv not found"),
        ({"text_column": "body"}, r"tasks\.t\.corpus \(id_column, text_column, covariates\): .* \['body'\]"),
        ({"covariates": ["party", "region"]}, r"lacks column\(s\) \['region'\]"),
        ({"covariates": ["party"]}, r"tasks\.t\.corpus\.covariates \(in tasks\.t\.texts\): .* \['party'\]"),
    ],
)
def test_bad_corpus_settings_stop_with_one_line_naming_the_key(tmp_path, change, message):
    config = _config(tmp_path)
    check_config(config)  # the valid config passes
    if "corpus" in change:
        config["corpus"] = change["corpus"]
    else:
        config["tasks"]["t"]["corpus"].update(change)
    with pytest.raises(LabelDistillError, match=message) as error:
        check_config(config)
    assert "\n" not in str(error.value)


def test_a_chunk_job_labels_its_rows_with_the_seeds_mean(tmp_path):
    frame = _texts(30)
    path = tmp_path / "corpus.csv"
    _write_csv(frame, path)
    train = [f"bad awful {i}" for i in range(10)] + [f"fine good {i}" for i in range(10)]
    y = ["negative"] * 10 + ["other"] * 10
    folders = []
    for seed in (1, 2):
        student = make_student(
            {"kind": "tfidf-logreg", "C": 1.0, "ngram_max": 1}, ["negative", "other"], seed
        )
        folders.append(tmp_path / f"seed{seed}")
        student.fit(train[seed:], y[seed:]).save(folders[-1])
    spec = CorpusSpec("t", path, covariates=("party",))
    chunk = corpus_chunks(spec, 12, cache=None)[1]
    out = tmp_path / "chunks" / "1.parquet"
    corpus_chunk.run(spec, chunk, folders, ["negative", "other"], out)
    got = read_table(out, CORPUS_LABELS)
    rows = frame.iloc[12:24]
    assert got["id"].tolist() == rows["id"].tolist() and got["party"].tolist() == rows["party"].tolist()
    expected = sum(load_student(f).predict_proba(list(rows["text"])) for f in folders) / 2
    assert np.allclose(np.stack(got["probabilities"]), expected)
    assert got["n_chars"].tolist() == rows["text"].str.len().tolist()
    assert not list(out.parent.glob(".*partial*"))


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_file_above_parse_check_mb_is_only_counted_and_its_check_job_finds_the_bad_row(tmp_path, kind):
    frame = _texts(12)
    frame.loc[9, "id"] = "t2"  # a repeated id
    path = tmp_path / f"corpus.{kind}"
    if kind == "csv":
        _write_csv(frame, path)
    else:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    spec = CorpusSpec("t", path)
    repeated = r"row 10 of the texts: duplicate id 't2' \(first at row 3\)"
    with pytest.raises(LabelDistillError, match=repeated):
        corpus_chunks(spec, 5, cache=None)  # small enough: checked at parse
    assert checked_by_job(spec, parse_check_mb=0) and not checked_by_job(spec)
    chunks = corpus_chunks(spec, 5, parse_check_mb=0, cache=None)  # only counted
    assert [chunk.size for chunk in chunks] == [5, 5, 2]
    out = tmp_path / "checked.json"
    with pytest.raises(LabelDistillError, match=repeated):
        corpus_check.run(spec, out)
    assert not out.exists()  # nothing the chunk jobs could take for a pass

    frame.loc[9, "id"] = "t9"
    if kind == "csv":
        _write_csv(frame, path)
    else:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    corpus_check.run(spec, out)
    record = read_record(out, CORPUS_CHECK)
    assert record["rows"] == 12 and record["file"] == str(path) and record["text_column"] == "text"
