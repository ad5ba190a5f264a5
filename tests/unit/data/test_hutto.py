"""The demo tasks built from Hutto & Gilbert's ratings (data/hutto.py)."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from labeldistill.errors import LabelDistillError
from labeldistill.tasks.spec import TaskSpec, load_coder_labels, load_texts

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "data"
# The demo-data builder lives beside the data it builds, outside the installed package.
sys.path.insert(0, str(DATA))
import hutto  # noqa: E402

# A tiny corpus in the archive's format: CRLF, an entity, a cp1252 byte, a line break inside a
# text, a repeated text, and mean ratings on both sides of -0.5.
GROUND_TRUTH = (
    b"1\t2.5\tGreat day &amp; sunshine  :)\r\n"
    b"2\t-0.5\tMeh, exactly on the line\r\n"
    b"3\t-0.55\tJust below the line\r\n"
    b"4\t-3.1\tCaf\xe9 burned down\r\n"
    b"5\t0.0\tFirst half of a text\r\n"
    b"that goes on here\r\n"
    b"6\t-2.0\tJust below the line\r\n"
    b"7\t1\t  spaced   out\ttext  "
)
RATINGS = (
    b"1\t2.5\t0.5\t[2, 3]\r\n"
    b"2\t-0.5\t0.5\t[-1, 0]\r\n"
    b"3\t-0.55\t0.1\t[-1, 0, -1]\r\n"
    b"4\t-3.1\t0.9\t[-4, -3, -2, -4]\r\n"
    b"5\t0.0\t0\t[0, 0]\r\n"
    b"6\t-2.0\t0\t[-2, -2]\r\n"
    b"7\t1.0\t0\t[1, 1]"
)
LICENSE = b"The MIT License (MIT)\n\nCopyright (c) 2016 C.J. Hutto\n"
TINY_TASKS = {"tiny_negative": "tiny"}


def _tar_gz(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture
def inner_archive(tmp_path) -> Path:
    path = tmp_path / hutto.INNER_ARCHIVE
    path.write_bytes(
        _tar_gz(
            {
                "hutto_ICWSM_2014/tiny_GroundTruth.txt": GROUND_TRUTH,
                "hutto_ICWSM_2014/tiny_anonDataRatings.txt": RATINGS,
                "hutto_ICWSM_2014/_README_.txt": b"readme",
            }
        )
    )
    return path


@pytest.fixture
def sdist(tmp_path, inner_archive) -> Path:
    path = tmp_path / hutto.SDIST_NAME
    path.write_bytes(
        _tar_gz(
            {
                "vaderSentiment-3.3.2/LICENSE.txt": LICENSE,
                "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz": (
                    inner_archive.read_bytes()
                ),
            }
        )
    )
    return path


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- texts -------------------------------------------------------------------------------------


def test_decode_text_falls_back_only_when_utf8_fails():
    assert hutto.decode_text("Café".encode()) == ("Café", False)
    assert hutto.decode_text(b"Caf\xe9") == ("Café", True)
    assert hutto.decode_text(b"\x81") == ("\x81", True)  # undefined in cp1252: latin-1


def test_clean_text_unescapes_known_entities_and_collapses_whitespace():
    assert hutto.clean_text("  a &amp; b &lt;3 &gt;\r\n c&#39;s \t&#x41; ") == "a & b <3 > c's A"
    assert hutto.clean_text("&nothing &copy; AT&T &#0;") == "&nothing &copy; AT&T &#0;"


# --- parsing -----------------------------------------------------------------------------------


def test_parse_ground_truth_reads_records_and_counts_repairs():
    records, report = hutto.parse_ground_truth(GROUND_TRUTH, "tiny_GroundTruth.txt")
    assert [r.id for r in records] == ["1", "2", "3", "4", "5", "6", "7"]
    assert records[0] == hutto.Record("1", "2.5", "Great day & sunshine :)")
    assert records[3].text == "Café burned down"
    assert records[4].text == "First half of a text that goes on here"
    assert records[6].text == "spaced out text"
    assert report.fallback_decoded == 1
    assert report.entities_unescaped == 1
    assert report.continuation_lines == 1


def test_parse_ground_truth_rejects_a_file_that_does_not_start_with_a_record():
    with pytest.raises(LabelDistillError, match="line 1"):
        hutto.parse_ground_truth(b"no tabs here\r\n1\t0.5\tx", "bad.txt")


def test_parse_ratings_reads_lists_and_checks_them():
    ratings = hutto.parse_ratings(RATINGS, "tiny_anonDataRatings.txt")
    assert ratings["4"] == [-4, -3, -2, -4]
    assert len(ratings) == 7
    with pytest.raises(LabelDistillError, match="line 1"):
        hutto.parse_ratings(b"1\t0\t0\t[5]", "bad.txt")
    with pytest.raises(LabelDistillError, match="4 tab-separated"):
        hutto.parse_ratings(b"1\t0\t[0]", "bad.txt")


# --- the rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mean, label",
    [(-0.5, "other"), (-0.50001, "negative"), (-0.49, "other"), (-4, "negative"), (4, "other")],
)
def test_gold_label_boundary(mean, label):
    assert hutto.gold_label(mean) == label
    assert hutto.gold_label(str(mean)) == label


@pytest.mark.parametrize("rating, label", [(-4, "negative"), (-1, "negative"), (0, "other")])
def test_coder_label(rating, label):
    assert hutto.coder_label(rating) == label


def test_coder_names_are_positions():
    assert [hutto.coder_name(i) for i in (0, 9, 98)] == ["r01", "r10", "r99"]


# --- a task ------------------------------------------------------------------------------------


def test_build_task_labels_texts_and_coders(inner_archive):
    task = hutto.build_task("tiny_negative", "tiny", hutto.read_archive(inner_archive))
    labels = {row["id"]: row["label"] for row in task.texts}
    # id 6 repeats the text of id 3 and is dropped.
    assert labels == {
        "1": "other",
        "2": "other",
        "3": "negative",
        "4": "negative",
        "5": "other",
        "7": "other",
    }
    assert task.texts[1]["mean_rating"] == "-0.5"
    assert [row for row in task.coder_labels if row[0] == "2"] == [
        ("2", "r01", "negative"),
        ("2", "r02", "other"),
    ]
    assert ("6", "r01", "negative") not in task.coder_labels
    stats = task.stats
    assert (stats["n_source"], stats["n_texts"], stats["n_negative"]) == (7, 6, 2)
    assert stats["duplicate_texts_dropped"] == 1
    assert stats["fallback_decoded"] == 1
    assert (stats["coders_per_text_min"], stats["coders_per_text_max"]) == (2, 4)
    assert stats["n_coder_labels"] == 2 + 2 + 3 + 4 + 2 + 2


def test_build_task_names_missing_ratings_and_missing_files():
    files = {
        "tiny_GroundTruth.txt": GROUND_TRUTH,
        "tiny_anonDataRatings.txt": RATINGS.replace(b"7\t1.0\t0\t[1, 1]", b""),
    }
    with pytest.raises(LabelDistillError, match="no ratings for id '7'"):
        hutto.build_task("tiny_negative", "tiny", files)
    with pytest.raises(LabelDistillError, match="has no other_GroundTruth.txt"):
        hutto.build_task("x", "other", files)


# --- writing -----------------------------------------------------------------------------------


def test_build_all_from_sdist_or_inner_archive_gives_the_same_task_files(tmp_path, sdist, inner_archive):
    from_sdist = tmp_path / "a"
    from_inner = tmp_path / "b"
    hutto.build_all(sdist, from_sdist, TINY_TASKS)
    hutto.build_all(inner_archive, from_inner, TINY_TASKS)
    assert (from_sdist / "LICENSE-vaderSentiment.txt").read_bytes() == LICENSE
    assert not (from_inner / "LICENSE-vaderSentiment.txt").exists()
    assert _tree(from_inner) == {
        k: v for k, v in _tree(from_sdist).items() if k != "LICENSE-vaderSentiment.txt"
    }
    spec = TaskSpec.from_config(
        "tiny_negative",
        {
            "texts": str(from_sdist / "tiny_negative" / "texts.csv"),
            "codebook": "unused.md",
            "labels": ["negative", "other"],
        },
    )
    texts = load_texts(spec)
    assert list(texts["id"]) == ["1", "2", "3", "4", "5", "7"]
    coders = load_coder_labels(from_sdist / "tiny_negative" / "coder_labels.csv.gz", spec.labels)
    assert set(coders["id"]) == set(texts["id"])


def test_written_gzip_has_no_time_stamp_or_name(tmp_path, inner_archive):
    hutto.build_all(inner_archive, tmp_path, TINY_TASKS)
    raw = (tmp_path / "tiny_negative" / hutto.CODER_LABELS_FILE).read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # MTIME
    assert raw[3] & 0x08 == 0  # no FNAME
    assert gzip.decompress(raw).startswith(b"id,coder,label\n1,r01,other\n")


def test_cli_runs_are_byte_identical(tmp_path, sdist):
    script = REPO / "data" / "build_demo_data.py"
    trees = []
    for name in ("first", "second"):
        out = tmp_path / name
        done = subprocess.run(
            [
                sys.executable,
                str(script),
                "--sdist",
                str(sdist),
                "--no-verify",
                "--out",
                str(out),
                "--task",
                "tiny_negative=tiny",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        trees.append(_tree(out))
    assert trees[0] == trees[1]
    assert set(trees[0]) == {
        "LICENSE-vaderSentiment.txt",
        "tiny_negative/texts.csv",
        "tiny_negative/uncoded.csv",
        "tiny_negative/coder_labels.csv.gz",
    }


def test_cli_fails_clearly_and_writes_nothing_when_a_corpus_is_missing(tmp_path, sdist):
    script = REPO / "data" / "build_demo_data.py"
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--sdist",
            str(sdist),
            "--no-verify",
            "--out",
            str(out),
            "--task",
            "tiny_negative=tiny",
            "--task",
            "tweets_negative=tweets",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "tweets_GroundTruth.txt" in done.stderr
    assert not out.exists()


def test_verify_archive_refuses_an_unknown_file(sdist):
    with pytest.raises(LabelDistillError, match="sha256"):
        hutto.verify_archive(sdist)


# --- the bundled data/ -------------------------------------------------------------------------


def _spec(task: str) -> TaskSpec:
    return TaskSpec.from_config(
        task,
        {
            "texts": str(DATA / task / "texts.csv"),
            "codebook": str(DATA / task / "codebook.md"),
            "labels": ["negative", "other"],
            "positive_label": "negative",
            "coder_labels": str(DATA / task / hutto.CODER_LABELS_FILE),
        },
    )


@pytest.mark.parametrize("task", sorted(hutto.TASK_CORPORA))
def test_bundled_task_loads_and_agrees_with_itself(task):
    spec = _spec(task)
    texts = load_texts(spec)
    coders = load_coder_labels(spec.coder_labels, spec.labels)
    raw = pd.read_csv(spec.texts, dtype=str, keep_default_na=False)
    assert list(raw.columns) == ["id", "text", "label", "mean_rating"]
    assert len(texts) > 4000
    assert texts["text"].is_unique
    # The rule holds row by row.
    assert (raw["mean_rating"].map(hutto.gold_label) == raw["label"]).all()
    # Every coder-labelled id is a text and every text has at least 15 coders.
    assert set(coders["id"]) == set(texts["id"])
    assert coders.groupby("id").size().min() >= 15
    assert not coders.duplicated(["id", "coder"]).any()
    # Sane shares, and the coders' majority mostly agrees with the gold label.
    share = (texts["label"] == "negative").mean()
    assert 0.15 < share < 0.6
    coder_share = (coders["label"] == "negative").mean()
    assert abs(coder_share - share) < 0.1
    majority = coders.assign(neg=coders["label"] == "negative").groupby("id")["neg"].mean() > 0.5
    gold = texts.set_index("id")["label"] == "negative"
    assert (majority.reindex(gold.index) == gold).mean() > 0.9


@pytest.mark.parametrize("task", sorted(hutto.TASK_CORPORA))
def test_bundled_codebook_names_the_labels_and_quotes_no_data(task):
    codebook = (DATA / task / "codebook.md").read_text(encoding="utf-8")
    assert "`negative`" in codebook and "`other`" in codebook
    assert 120 <= len(codebook.split()) <= 280
    texts = load_texts(_spec(task))["text"]
    assert not any(text in codebook for text in texts if len(text) > 25)


def test_bundled_data_is_small_and_licensed():
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert total < 8_000_000
    assert "MIT License" in (DATA / "LICENSE-vaderSentiment.txt").read_text(encoding="utf-8")
    assert "Hutto" in (DATA / "README.md").read_text(encoding="utf-8")


THREE = [(-0.51, "negative"), (-0.5, "neutral"), (0.5, "neutral"), (0.51, "positive")]
THREE += [(-1, "negative"), (0, "neutral"), (1, "positive")]


@pytest.mark.parametrize(("value", "label"), THREE)
def test_three_category_rule(value, label):
    assert hutto.gold_label(value, "sentiment3") == label
    assert hutto.coder_label(int(value), "sentiment3") == hutto.gold_label(int(value), "sentiment3")
    with pytest.raises(LabelDistillError, match="unknown label scheme"):
        hutto.gold_label(value, "sentiment5")


def test_bundled_three_category_task_loads_and_agrees_with_itself():
    spec = TaskSpec.from_config(
        "tweets_sentiment",
        {
            "texts": str(DATA / "tweets_sentiment" / "texts.csv"),
            "codebook": str(DATA / "tweets_sentiment" / "codebook.md"),
            "labels": list(hutto.SENTIMENT_LABELS),
            "coder_labels": str(DATA / "tweets_sentiment" / hutto.CODER_LABELS_FILE),
        },
    )
    texts = load_texts(spec)
    raw = pd.read_csv(spec.texts, dtype=str, keep_default_na=False)
    assert (raw["mean_rating"].map(lambda m: hutto.gold_label(m, "sentiment3")) == raw["label"]).all()
    # the same texts as the binary tweets task, whose negatives are exactly these negatives
    binary = pd.read_csv(DATA / "tweets_negative" / "texts.csv", dtype=str, keep_default_na=False)
    assert raw["id"].tolist() == binary["id"].tolist()
    assert ((raw["label"] == "negative") == (binary["label"] == "negative")).all()
    assert texts["label"].value_counts().to_dict() == {"positive": 2300, "negative": 1062, "neutral": 838}
    coders = load_coder_labels(spec.coder_labels, spec.labels)
    assert set(coders["id"]) == set(texts["id"])
    majority = coders.groupby("id")["label"].agg(lambda x: x.value_counts().idxmax())
    assert (majority.reindex(texts["id"]).to_numpy() == texts["label"].to_numpy()).mean() > 0.9
    codebook = spec.codebook.read_text(encoding="utf-8")
    assert all(f"`{label}`" in codebook for label in spec.labels) and 120 <= len(codebook.split()) <= 280
    assert not any(text in codebook for text in texts["text"] if len(text) > 25)
