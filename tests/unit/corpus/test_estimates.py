"""Corpus estimates: the record against `stats.ppi.Sample`'s estimates on the same arrays, the
assumption's checks, the table, the figure and the report section."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from labeldistill.contracts import (
    CORPUS_ESTIMATES,
    CORPUS_LABELS,
    PREDICTIONS,
    SPLIT,
    read_record,
    write_table,
)
from labeldistill.corpus.estimates import (
    assumption_checks,
    covariate_design,
    covariates_by_id,
    estimate_corpus,
)
from labeldistill.errors import LabelDistillError
from labeldistill.report.figures import plot_corpus_shares
from labeldistill.report.html import render_report
from labeldistill.report.tables import corpus_table
from labeldistill.stages import corpus_estimates
from labeldistill.stats.ppi import Sample

LABELS = ["negative", "other"]


def _population(n_total=3000, seed=0, shift_corpus=0.0):
    """A population of texts with a year, a truth, a student's probability; text length random."""
    rng = np.random.default_rng(seed)
    year = rng.integers(2018, 2021, n_total)
    truth = rng.random(n_total) < 0.2 + 0.1 * (year - 2018)
    p = 1 / (1 + np.exp(-2 * ((2 * truth - 1) + rng.standard_normal(n_total)) - shift_corpus))
    texts = ["x" * int(k) for k in rng.integers(20, 80, n_total)]
    return pd.DataFrame(
        {
            "id": [f"t{i}" for i in range(n_total)],
            "text": texts,
            "label": np.where(truth, "negative", "other"),
            "year": year.astype(str),
            "p": p,
        }
    )


def _files(tmp_path, population, n_test=300, seeds=(1, 2)):
    """The files the stage reads: corpus labels (all texts), test split, per-seed predictions,
    pool and val splits, the task's texts with the year."""
    test = population.iloc[:n_test]
    corpus = pd.DataFrame(
        {
            "id": population["id"],
            "label": np.where(population["p"] > 0.5, "negative", "other"),
            "probabilities": [[p, 1 - p] for p in population["p"]],
            "n_chars": population["text"].str.len(),
            "year": population["year"],
        }
    )
    write_table(corpus, tmp_path / "labels.parquet", CORPUS_LABELS, labels=LABELS)
    write_table(test[["id", "text", "label"]], tmp_path / "test.parquet", SPLIT)
    # Two seeds, written in another order than the split's.
    predictions = []
    for k, seed in enumerate(seeds):
        shift = 0.05 if k == 0 else -0.05
        p = np.clip(test["p"] + shift, 0, 1).to_numpy()
        frame = pd.DataFrame(
            {
                "id": test["id"].to_numpy()[::-1],
                "label": np.where(p > 0.5, "negative", "other")[::-1],
                "probabilities": [[q, 1 - q] for q in p][::-1],
            }
        )
        predictions.append(tmp_path / f"seed{seed}.parquet")
        write_table(frame, predictions[-1], PREDICTIONS, labels=LABELS)
    pool = population.iloc[n_test : n_test + 50][["id", "text", "label"]]
    write_table(pool, tmp_path / "pool.parquet", SPLIT)
    write_table(pool.iloc[:0], tmp_path / "val.parquet", SPLIT)
    population[["id", "text", "label", "year"]].to_csv(tmp_path / "texts.csv", index=False)
    return predictions


def _run(tmp_path, population, covariates=("year",), **kwargs):
    predictions = _files(tmp_path, population)
    corpus_estimates.run(
        corpus_labels=tmp_path / "labels.parquet",
        test_texts=tmp_path / "test.parquet",
        prediction_files=predictions,
        training_texts=[tmp_path / "pool.parquet", tmp_path / "val.parquet"],
        out_path=tmp_path / "estimates.json",
        meta={"task": "t", "student": "tfidf", "labeler": "gemma", "seeds": [1, 2]},
        labels=LABELS,
        positive_label="negative",
        covariates=list(covariates),
        task_texts=tmp_path / "texts.csv",
        **kwargs,
    )
    return read_record(tmp_path / "estimates.json", CORPUS_ESTIMATES)


def test_the_record_holds_what_ppi_gives_on_the_same_arrays(tmp_path):
    population = _population()
    record = _run(tmp_path, population)
    test = population.iloc[:300]
    human = list(test["label"])
    p_test = (np.clip(test["p"] + 0.05, 0, 1) + np.clip(test["p"] - 0.05, 0, 1)) / 2  # the seeds' mean
    probs_test = np.column_stack([p_test, 1 - p_test])
    probs_corpus = np.column_stack([population["p"], 1 - population["p"]])
    sample = Sample.from_arrays(human, probs_test, probs_corpus, LABELS)
    expected = sample.shares()
    got = pd.DataFrame(record["shares"])
    assert got[["label", "method"]].values.tolist() == expected[["label", "method"]].values.tolist()
    for column in ("estimate", "low", "high", "se"):
        assert np.allclose(got[column], expected[column], atol=1e-9)
    worth = sample.effective_labels()
    assert np.allclose(
        pd.DataFrame(record["effective_labels"])["effective_labels"], worth["effective_labels"]
    )
    plan = sample.plan_labels(half_width=0.03)
    assert pd.DataFrame(record["plan"])["n_human"].tolist() == plan["n_human"].tolist()
    assert pd.DataFrame(record["plan"])["n_ppi"].tolist() == plan["n_ppi"].tolist()
    groups = sample.shares_by_group(list(test["year"]), list(population["year"]))
    assert np.allclose(pd.DataFrame(record["by_group"]["year"])["estimate"], groups["estimate"])
    x_test = test[["year"]].astype(float)
    x_corpus = population[["year"]].astype(float)
    regression = sample.regression(x_test, x_corpus, "negative")
    assert np.allclose(pd.DataFrame(record["regression"])["estimate"], regression["estimate"])
    assert record["n_corpus"] == 3000 and record["n_test"] == 300 and record["seeds"] == [1, 2]
    # The test texts and the pool are inside this corpus: the pool is flagged, the test is not.
    assert record["checks"]["n_test_in_corpus"] == 300
    assert record["checks"]["n_corpus_in_training"] == 50
    assert len(record["warnings"]) == 1 and "50 corpus texts (1.7%)" in record["warnings"][0]
    json.dumps(record)  # plain JSON


def _two_labels(positive: np.ndarray) -> np.ndarray:
    return np.column_stack([positive, 1 - positive])


def test_a_corpus_unlike_the_test_texts_raises_warnings():
    rng = np.random.default_rng(1)
    corpus_positive, test_positive = rng.beta(5, 2, 5000), rng.beta(2, 5, 200)
    checks, warnings = assumption_checks(
        corpus_chars=rng.integers(200, 400, 5000).astype(float),
        test_chars=rng.integers(20, 80, 200).astype(float),
        corpus_probabilities=_two_labels(corpus_positive),
        test_probabilities=_two_labels(test_positive),
        labels=LABELS,
        positive_label="negative",
        n_in_training=0,
    )
    difference = corpus_positive.mean() - test_positive.mean()
    # Welch's t is the same statistic but for the variances' n - 1 (0.5% apart at 200 texts)
    z = stats.ttest_ind(corpus_positive, test_positive, equal_var=False).statistic
    assert checks["length_ratio"] > 3 and checks["positive_probability_z"] == pytest.approx(z, rel=0.005)
    assert difference > 0 and checks["probability_z"] == {"negative": pytest.approx(z, rel=0.005)}
    assert len(warnings) == 2  # one for the length, one for the two-label task's positive label
    assert "median text" in warnings[0] and "probability of 'negative'" in warnings[1]
    checks, warnings = assumption_checks(
        corpus_chars=rng.integers(20, 80, 5000).astype(float),
        test_chars=rng.integers(20, 80, 200).astype(float),
        corpus_probabilities=_two_labels(rng.beta(2, 5, 5000)),
        test_probabilities=_two_labels(rng.beta(2, 5, 200)),
        labels=LABELS,
        positive_label="negative",
        n_in_training=0,
    )
    assert warnings == [] and abs(checks["length_ratio"] - 1) < 0.1


def test_a_three_label_corpus_is_checked_on_every_label():
    """The positive label's share is the same on both sides, another label's is not: the check
    of a task of three labels names that label."""
    rng = np.random.default_rng(2)

    def probabilities(n, middle_share):
        first = rng.uniform(0.25, 0.35, n)
        middle = rng.uniform(middle_share - 0.1, middle_share + 0.1, n)
        return np.column_stack([first, middle, 1 - first - middle])

    chars = rng.integers(20, 80, 200).astype(float)
    checks, warnings = assumption_checks(
        chars, chars, probabilities(3000, 0.5), probabilities(200, 0.3), ["a", "b", "c"], "a", 0
    )
    assert abs(checks["positive_probability_z"]) < 3 and set(checks["probability_z"]) == {"a", "b", "c"}
    assert checks["probability_z"]["b"] > 10 and checks["probability_z"]["c"] < -10
    assert len(warnings) == 2 and "'b'" in warnings[0] and "'c'" in warnings[1]


def test_a_three_label_corpus_regresses_every_label_on_the_covariates():
    """No label speaks for a task of three: each is regressed on the covariates against the
    rest, the rows named by label and equal to `Sample.regression` of that label."""
    rng = np.random.default_rng(5)
    labels = ["a", "b", "c"]
    year = rng.integers(2000, 2010, 2300)
    # the share of "b" grows with the year; the student's probabilities are near the truth
    logits = np.column_stack([np.zeros(len(year)), 0.3 * (year - 2005), np.full(len(year), -0.5)])
    truth = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    gold = np.array([rng.choice(labels, p=p) for p in truth])
    probabilities = 0.8 * truth + 0.2 * np.eye(3)[[labels.index(g) for g in gold]]
    n_test = 300
    test = pd.DataFrame({"id": [f"t{i}" for i in range(n_test)], "text": "some text", "label": gold[:n_test]})
    corpus = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(len(year) - n_test)],
            "probabilities": list(probabilities[n_test:]),
            "n_chars": 9,
        }
    )
    corpus["year"] = year[n_test:].astype(str)
    test_years = pd.DataFrame({"year": year[:n_test].astype(str)})
    record = estimate_corpus(
        corpus,
        test,
        probabilities[:n_test],
        labels,
        "a",
        covariates=["year"],
        test_covariates=test_years,
        min_group_texts=20,
    )
    rows = pd.DataFrame(record["regression"])
    assert sorted(rows["label"].unique()) == labels and record["warnings"] == []
    x_test, x_corpus = year[:n_test, None].astype(float), year[n_test:, None].astype(float)
    sample = Sample.from_arrays(list(gold[:n_test]), probabilities[:n_test], probabilities[n_test:], labels)
    for label in labels:
        alone = sample.regression(x_test, x_corpus, label)
        assert np.allclose(rows.loc[rows["label"] == label, "estimate"], alone["estimate"])
    slope = rows[(rows["label"] == "b") & (rows["model"] == "ols") & (rows["coefficient"] == "year")]
    assert (slope["low"] > 0).all()  # "b" grows with the year, by every method


def test_covariates_are_strings_by_id_and_numbers_or_dummies_in_the_regression():
    texts = pd.DataFrame({"id": [3, 1, 2], "year": [2001.0, None, 2003.0], "party": ["a", "b", ""]})
    got = covariates_by_id(texts, "id", ["year", "party"], ["1", "2", "3", "9"])
    assert got.values.tolist() == [[None, "b"], ["2003", None], ["2001", "a"], [None, None]]
    design, notes = covariate_design(got)
    assert list(design.columns) == ["year", "party=b"] and notes == []
    assert np.isnan(design["party=b"][1]) and design["party=b"][0] == 1.0


def test_covariates_missing_from_the_task_texts_stop_with_one_line(tmp_path):
    population = _population(600)
    with pytest.raises(
        LabelDistillError, match=r"tasks\.t\.corpus\.covariates: .* lacks column\(s\) \['party'\]"
    ):
        _run(tmp_path, population, covariates=("party",))


def test_the_table_figure_and_report_show_the_estimates_and_warnings(tmp_path):
    record = _run(tmp_path, _population())
    table = corpus_table([record])
    overall = table[table["covariate"] == ""]
    assert len(overall) == 2 * 3  # labels x methods
    ppi = overall[(overall["label"] == "negative") & (overall["method"] == "ppi++")].iloc[0]
    worth = pd.DataFrame(record["effective_labels"]).set_index("label")["effective_labels"]
    assert ppi["effective_labels"] == pytest.approx(worth["negative"])
    assert ppi["labelled_needed"] == pd.DataFrame(record["plan"]).set_index("label")["n_ppi"]["negative"]
    assert set(table.loc[table["covariate"] == "year", "level"]) == {"2018", "2019", "2020"}
    figure = plot_corpus_shares([record], tmp_path / "corpus_shares.png")
    assert figure.read_bytes().startswith(b"\x89PNG")
    html = render_report(
        {"corpus": table}, {"corpus_shares": figure}, warnings={"corpus": ["t: " + record["warnings"][0]]}
    )
    assert "Your corpus" in html and "THE ASSUMPTION" in html and "50 corpus texts" in html
    assert "Your corpus" not in render_report({}, {})
