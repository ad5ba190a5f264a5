"""The corpus stage for real: a few thousand texts in several chunks, stopped after the first
chunk and resumed, with estimates by covariate."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from runner import REPO, planned_jobs, planned_outputs, snakemake, tiny_config, write_config
from test_slurm_resources import dry_run

from labeldistill.contracts import CORPUS_ESTIMATES, CORPUS_LABELS, read_record, read_table

pytestmark = pytest.mark.workflow

TASK = "tweets_negative"
CHUNK = f"results/{TASK}/corpus/chunks/{{}}.parquet"
LABELS = f"results/{TASK}/corpus/labels.parquet"
ESTIMATES = f"results/{TASK}/corpus/estimates.json"


def _year(ids: pd.Series) -> pd.Series:
    return (2019 + ids.astype(int) % 3).astype(str)


@pytest.fixture()
def corpus_workdir(tmp_path, local_model_dir):
    """The tiny config, its tweets task with a year, and a corpus of 2,500 tweets in 3 chunks."""
    workdir = tmp_path / "run"
    config = tiny_config(workdir, local_model_dir.parent)
    texts_path = workdir / "data" / TASK / "texts.csv"
    texts = pd.read_csv(texts_path, dtype=str, keep_default_na=False)
    texts.assign(year=_year(texts["id"])).to_csv(texts_path, index=False)
    every = pd.read_csv(REPO / "data" / TASK / "texts.csv", dtype=str, keep_default_na=False)
    corpus = pd.concat([texts[["id", "text"]], every[~every["id"].isin(texts["id"])].head(2500 - len(texts))])
    corpus = corpus.sample(frac=1, random_state=5).rename(columns={"text": "body"})
    corpus.assign(year=_year(corpus["id"])).to_csv(workdir / "corpus.csv", index=False)
    config["tasks"][TASK]["corpus"] = {
        "texts": str(workdir / "corpus.csv"),
        "text_column": "body",
        "covariates": ["year"],
    }
    config["corpus"] = {"student": "tfidf-logreg", "labeler": "human", "seeds": [1], "chunk_size": 1000}
    write_config(workdir, config)
    return workdir


def test_a_stopped_corpus_run_resumes_at_the_missing_chunks(corpus_workdir):
    workdir = corpus_workdir
    first = snakemake(workdir, "--cores", "2", CHUNK.format(0))  # as if stopped after chunk 0
    assert first.returncode == 0, first.stderr[-4000:]
    assert (workdir / CHUNK.format(0)).exists() and not (workdir / CHUNK.format(1)).exists()
    assert (workdir / ".snakemake/labeldistill/corpus_rows.json").exists()  # the count is cached

    plan = snakemake(workdir, "--dry-run", ESTIMATES)
    assert plan.returncode == 0, plan.stderr[-4000:]
    jobs = planned_jobs(plan.stdout)
    assert jobs["corpus_chunk"] == 2 and jobs["corpus_merge"] == 1 and jobs["corpus_estimates"] == 1
    chunks = [path for path in planned_outputs(plan.stdout) if "/corpus/chunks/" in path]
    assert sorted(chunks) == [CHUNK.format(1), CHUNK.format(2)]  # chunk 0 is not rerun

    resumed = snakemake(workdir, "--cores", "2", ESTIMATES)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    merged = read_table(workdir / LABELS, CORPUS_LABELS)
    corpus = pd.read_csv(workdir / "corpus.csv", dtype=str)
    assert merged["id"].tolist() == corpus["id"].tolist()  # every row once, in the file's order
    assert merged["year"].tolist() == corpus["year"].tolist()
    assert set(merged["label"]) <= {"negative", "other"}

    # The same from scratch, without a stop: the identical table.
    for path in (workdir / "results" / TASK / "corpus").rglob("*.parquet"):
        path.unlink()
    again = snakemake(workdir, "--cores", "2", LABELS)
    assert again.returncode == 0, again.stderr[-4000:]
    pd.testing.assert_frame_equal(read_table(workdir / LABELS, CORPUS_LABELS), merged)

    record = read_record(workdir / ESTIMATES, CORPUS_ESTIMATES)
    assert record["n_corpus"] == 2500 and record["n_test"] == 12
    assert {row["method"] for row in record["shares"]} == {"naive", "human", "ppi++"}
    assert set(record["by_group"]) == {"year"} and record["regression"]
    # The corpus holds the tiny task's texts, so the student's training texts are flagged.
    assert record["checks"]["n_corpus_in_training"] > 0
    assert any("training or validation texts" in warning for warning in record["warnings"])

    # Nothing left to do; the report would show the corpus table and figure.
    done = snakemake(workdir, "--dry-run", ESTIMATES)
    assert planned_jobs(done.stdout) == {}
    everything = snakemake(workdir, "--dry-run")
    assert "results/tables/corpus.csv" in everything.stdout
    assert "results/figures/corpus_shares.png" in everything.stdout

    # Dropping the corpus from the config (or adding one) reruns no split, student or prediction.
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    del config["tasks"][TASK]["corpus"], config["corpus"]
    write_config(workdir, config)
    plain = snakemake(
        workdir, "--dry-run", f"results/{TASK}/predictions/tfidf-logreg@human/n14/seed1.parquet"
    )
    assert plain.returncode == 0 and planned_jobs(plain.stdout) == {}, plain.stdout[-2000:]


def test_a_corpus_missing_its_text_column_stops_before_any_job(corpus_workdir):
    config = (corpus_workdir / "config.yaml").read_text().replace("text_column: body", "text_column: content")
    (corpus_workdir / "config.yaml").write_text(config)
    result = snakemake(corpus_workdir, "--dry-run")
    assert result.returncode != 0
    line = [line for line in result.stderr.splitlines() if line.startswith("labeldistill:")]
    assert line and f"config key tasks.{TASK}.corpus" in line[0] and "['content']" in line[0]


def test_chunk_jobs_ask_for_a_gpu_only_for_a_gpu_student(corpus_workdir):
    config = yaml.safe_load((corpus_workdir / "config.yaml").read_text())
    config["students"]["minilm"]["device"] = "gpu"
    for student, gpus in (("tfidf-logreg", {"0"}), ("minilm", {"1"})):
        config["corpus"]["student"] = student
        chunks = [
            resources for rule, _, resources in dry_run(corpus_workdir, config) if rule == "corpus_chunk"
        ]
        assert len(chunks) == 3 and {r["gpu"] for r in chunks} == gpus, student


def test_a_corpus_above_parse_check_mb_is_checked_by_one_job_before_any_chunk(corpus_workdir):
    corpus = pd.read_csv(corpus_workdir / "corpus.csv", dtype=str, keep_default_na=False)
    corpus.loc[1800, "id"] = corpus.loc[7, "id"]  # in the last chunk: only a whole pass finds it
    corpus.to_csv(corpus_workdir / "corpus.csv", index=False)
    config = yaml.safe_load((corpus_workdir / "config.yaml").read_text())
    config["corpus"]["parse_check_mb"] = 0  # as if the file were too large to check at parse
    write_config(corpus_workdir, config)

    plan = snakemake(corpus_workdir, "--dry-run", CHUNK.format(0))
    assert plan.returncode == 0, plan.stderr[-3000:]  # the parse only counted the rows
    assert planned_jobs(plan.stdout)["corpus_check"] == 1

    result = snakemake(corpus_workdir, "--cores", "2", CHUNK.format(0))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("labeldistill:")]
    lines = [line for line in errors if not line.startswith("labeldistill: warning:")]
    assert len(lines) == 1, result.stderr[-3000:]
    assert f"row 1801 of the texts: duplicate id {corpus.loc[7, 'id']!r} (first at row 8)" in lines[0]
    assert not (corpus_workdir / CHUNK.format(0)).exists()  # no chunk labelled
    assert not (corpus_workdir / f"results/{TASK}/corpus/checked.json").exists()
